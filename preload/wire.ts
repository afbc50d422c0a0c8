// The browser host's WebSocket frames. JSON carries everything but bytes, so Uint8Array values are
// tagged as base64 on the way out and restored on the way in (Electron's structured clone needs none
// of this).
import type { Channel, Envelope, EventName, StrataEvents } from './api.ts';

export type ClientFrame = { type: 'call'; id: number; channel: Channel; arg: unknown };
export type ServerFrame =
  | { type: 'reply'; id: number; envelope: Envelope<unknown> }
  | { [E in EventName]: { type: 'event'; name: E; payload: StrataEvents[E] } }[EventName];

/** Query parameter that carries the per-launch token, on the page URL and the socket URL. */
export const TOKEN_PARAM = 'token';
export const SOCKET_PATH = '/api';
/**
 * Documents travel as one HTTP request body instead of a base64 frame (a 410 MB file is a 550 MB
 * string in a frame, past what btoa and the frame limit allow). POST with the token in this header,
 * `requestId` and `fileName` in the query; the reply is the envelope documents.import would give.
 */
export const UPLOAD_PATH = '/api/upload';
export const TOKEN_HEADER = 'x-strata-token';

const BYTES_TAG = '$bytes';

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    binary += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function encodeFrame(frame: ClientFrame | ServerFrame): string {
  return JSON.stringify(frame, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { [BYTES_TAG]: toBase64(value) };
    return value;
  });
}

export function decodeFrame<T extends ClientFrame | ServerFrame>(text: string): T {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && BYTES_TAG in value) {
      const tagged = (value as Record<string, unknown>)[BYTES_TAG];
      if (typeof tagged === 'string' && Object.keys(value).length === 1) return fromBase64(tagged);
    }
    return value;
  }) as T;
}
