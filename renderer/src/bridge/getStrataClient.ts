// Picks the transport once: Electron's preload sets window.strata; anywhere else this page was served
// by the browser host, which speaks the same contract over a WebSocket.
import { buildApi, type StrataApi, type StrataBridge } from '../../../preload/api.ts';
import { createSocketBridge, type SocketBridge } from './createSocketBridge.ts';

declare global {
  interface Window {
    strata?: StrataBridge;
  }
}

export interface StrataClient {
  bridge: StrataBridge;
  api: StrataApi;
  /** Present only in the browser host. */
  socket: SocketBridge | null;
}

let client: StrataClient | null = null;

export function getStrataClient(): StrataClient {
  if (client) return client;
  const preloaded = window.strata;
  if (preloaded) {
    client = { bridge: preloaded, api: buildApi(preloaded.invoke), socket: null };
  } else {
    const socket = createSocketBridge();
    client = { bridge: socket, api: buildApi(socket.invoke), socket };
  }
  return client;
}
