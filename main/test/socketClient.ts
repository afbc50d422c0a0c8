// A page's side of the browser host's WebSocket, for tests: connect with a token (and any Origin or
// Host, to test the checks), then call the contract over it and collect the events it pushes.
import WebSocket from 'ws';
import { buildApi, type Envelope, type StrataApi } from '../../preload/api.ts';
import { decodeFrame, encodeFrame, type ServerFrame } from '../../preload/wire.ts';

export function connect(url: URL, { token, origin, host }: { token?: string; origin?: string; host?: string }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${url.port}/api?token=${token ?? ''}`, {
      origin: origin ?? `http://127.0.0.1:${url.port}`,
      headers: host ? { Host: host } : {},
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

export function clientApi(ws: WebSocket): { api: StrataApi; events: ServerFrame[] } {
  let nextId = 1;
  const pending = new Map<number, (envelope: Envelope<unknown>) => void>();
  const events: ServerFrame[] = [];
  ws.on('message', (data) => {
    const frame = decodeFrame<ServerFrame>(data.toString());
    if (frame.type === 'reply') pending.get(frame.id)?.(frame.envelope);
    else events.push(frame);
  });
  const api = buildApi((channel, arg) => {
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, resolve);
      ws.send(encodeFrame({ type: 'call', id, channel, arg }));
    });
  });
  return { api, events };
}
