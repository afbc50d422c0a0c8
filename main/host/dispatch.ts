// Routes a channel name to the service method behind it and wraps the outcome in an envelope, so
// every host (Electron IPC, the browser host's WebSocket) answers the same way and error codes survive.
import { apiMethods, type Channel, type Envelope, type StrataApi } from '../../preload/api.ts';
import { errorPayload } from '../engine/errors.ts';

export function isChannel(value: unknown): value is Channel {
  if (typeof value !== 'string') return false;
  const [service, method, ...rest] = value.split('.');
  if (rest.length > 0 || !Object.hasOwn(apiMethods, service)) return false;
  return Object.hasOwn(apiMethods[service as keyof StrataApi], method);
}

export async function dispatch(api: StrataApi, channel: unknown, arg: unknown): Promise<Envelope<unknown>> {
  try {
    if (!isChannel(channel)) return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `Unknown channel: ${String(channel)}` } };
    const [service, method] = channel.split('.') as [keyof StrataApi, string];
    const target = api[service] as unknown as Record<string, (arg: unknown) => Promise<unknown>>;
    const value = await target[method](arg);
    return { ok: true, value: value === undefined ? null : value };
  } catch (error) {
    return { ok: false, error: errorPayload(error) };
  }
}
