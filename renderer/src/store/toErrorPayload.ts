import { RemoteError, type ErrorPayload } from '../../../preload/api.ts';

/** Any thrown value as the contract's {code, message}; what the engine did not send is INTERNAL. */
export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof RemoteError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message };
  return { code: 'INTERNAL', message: String(err) };
}
