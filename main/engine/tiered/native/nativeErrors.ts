// A native rejection as a StrataError with the addon's stable code (BAD_BLOB, KV_FULL, EMPTY_RANGE…).
import { isErrorCode, type ErrorCode } from '../../errorCodes.ts';
import { StrataError } from '../../errors.ts';

/** A failure reported by the addon; `code` is its stable code (BAD_BLOB, KV_FULL, EMPTY_RANGE, …). */
export class NativeTierError extends StrataError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NativeTierError';
  }
}

export function fromNative(error: unknown): Error {
  if (error instanceof StrataError) return error;
  if (error instanceof TypeError || error instanceof RangeError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new NativeTierError(isErrorCode(code) ? code : 'INTERNAL', message, { cause: error });
}

export async function native<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromNative(error);
  }
}

