// The browser host's bridge: the same StrataBridge that Electron's preload exposes, carried over the
// host's WebSocket. Calls made while the socket is down wait for it (up to connectWaitMs); calls in
// flight when it drops resolve with an error envelope, so callers see a RemoteError with a code.
import type { Channel, Envelope, ErrorCode, ErrorPayload, EventName, StrataBridge, StrataEvents } from '../../../preload/api.ts';
import { SOCKET_PATH, TOKEN_HEADER, TOKEN_PARAM, UPLOAD_PATH, decodeFrame, encodeFrame, type ServerFrame } from '../../../preload/wire.ts';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

export interface SocketBridge extends StrataBridge {
  readonly connection: ConnectionState;
  /** True when the page URL carries no access token (the socket will be refused). */
  readonly missingToken: boolean;
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
}

export const DISCONNECTED = 'HOST_DISCONNECTED' satisfies ErrorCode;
export const UNREACHABLE = 'HOST_UNREACHABLE' satisfies ErrorCode;

interface Pending {
  resolve: (envelope: Envelope<unknown>) => void;
  channel: Channel;
}

interface Options {
  /** Defaults to the page's location. */
  location?: Pick<Location, 'host' | 'search' | 'protocol'>;
  connectWaitMs?: number;
  maxBackoffMs?: number;
}

function failure(code: ErrorCode, message: string): Envelope<unknown> {
  const error: ErrorPayload = { code, message };
  return { ok: false, error };
}

export function createSocketBridge(options: Options = {}): SocketBridge {
  const where = options.location ?? window.location;
  const connectWaitMs = options.connectWaitMs ?? 15_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const token = new URLSearchParams(where.search).get(TOKEN_PARAM) ?? '';
  const scheme = where.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${where.host}${SOCKET_PATH}?${TOKEN_PARAM}=${encodeURIComponent(token)}`;

  const pending = new Map<number, Pending>();
  const waiting = new Set<() => void>();
  const eventListeners = new Map<EventName, Set<(payload: never) => void>>();
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let state: ConnectionState = 'connecting';
  let attempt = 0;

  function setState(next: ConnectionState) {
    if (next === state) return;
    state = next;
    for (const listener of connectionListeners) listener(next);
  }

  function connect() {
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener('open', () => {
      attempt = 0;
      setState('open');
      for (const wake of [...waiting]) wake();
    });
    ws.addEventListener('message', (event) => {
      if (typeof event.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = decodeFrame<ServerFrame>(event.data);
      } catch {
        return;
      }
      if (frame.type === 'reply') {
        const call = pending.get(frame.id);
        if (!call) return;
        pending.delete(frame.id);
        call.resolve(frame.envelope);
      } else if (frame.type === 'event') {
        const listeners = eventListeners.get(frame.name);
        if (!listeners) return;
        for (const listener of [...listeners]) {
          try {
            (listener as (payload: unknown) => void)(frame.payload);
          } catch (err) {
            console.error(`Listener for ${frame.name} failed`, err);
          }
        }
      }
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      for (const [id, call] of pending) {
        pending.delete(id);
        call.resolve(failure(DISCONNECTED, `Lost the connection to Strata during ${call.channel}; it will reconnect, then try again.`));
      }
      setState('reconnecting');
      const delay = Math.min(maxBackoffMs, 250 * 2 ** attempt);
      attempt++;
      setTimeout(connect, delay);
    });
  }

  function whenOpen(): Promise<boolean> {
    if (socket?.readyState === WebSocket.OPEN) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        waiting.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiting.delete(wake);
        resolve(false);
      }, connectWaitMs);
      waiting.add(wake);
    });
  }

  async function upload(request: { requestId: string; fileName: string; bytes: Uint8Array }): Promise<Envelope<unknown>> {
    const query = new URLSearchParams({ requestId: request.requestId, fileName: request.fileName });
    try {
      const response = await fetch(`${where.protocol}//${where.host}${UPLOAD_PATH}?${query}`, {
        method: 'POST',
        headers: { [TOKEN_HEADER]: token, 'Content-Type': 'application/octet-stream' },
        body: new Blob([request.bytes as BlobPart]),
      });
      return (await response.json()) as Envelope<unknown>;
    } catch (err) {
      return failure(UNREACHABLE, `Could not send ${request.fileName} to Strata at ${where.host}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  connect();

  return {
    host: 'browser',
    get connection() {
      return state;
    },
    missingToken: token === '',
    async invoke(channel, arg) {
      // Documents go as a request body (any size up to the limit), not inside a frame.
      if (channel === 'documents.import') return upload(arg as { requestId: string; fileName: string; bytes: Uint8Array });
      if (!(await whenOpen()) || !socket) {
        return failure(UNREACHABLE, `Cannot reach Strata at ${where.host} (${channel}). Is \`strata serve\` still running?`);
      }
      const id = nextId++;
      const ws = socket;
      return new Promise<Envelope<unknown>>((resolve) => {
        pending.set(id, { resolve, channel });
        try {
          ws.send(encodeFrame({ type: 'call', id, channel, arg }));
        } catch (err) {
          pending.delete(id);
          resolve(failure(DISCONNECTED, `Could not send ${channel}: ${err instanceof Error ? err.message : String(err)}`));
        }
      });
    },
    on<E extends EventName>(event: E, listener: (payload: StrataEvents[E]) => void) {
      let listeners = eventListeners.get(event);
      if (!listeners) {
        listeners = new Set();
        eventListeners.set(event, listeners);
      }
      const stored = listener as (payload: never) => void;
      listeners.add(stored);
      return () => {
        listeners.delete(stored);
      };
    },
    getPathForFile() {
      return '';
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => {
        connectionListeners.delete(listener);
      };
    },
  };
}
