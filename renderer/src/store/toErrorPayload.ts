import { RemoteError, type ErrorPayload } from '../../../preload/api.ts';

/** Any thrown value as the contract's {code, message}. */
export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof RemoteError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: err.name || 'ERROR', message: err.message };
  return { code: 'ERROR', message: String(err) };
}
