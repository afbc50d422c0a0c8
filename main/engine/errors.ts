// Errors with stable codes: hosts send {code, message} across IPC and the renderer rebuilds them.
// Every code is one of ERROR_CODES (errorCodes.ts), with its meaning.
import { isErrorCode, type ErrorCode } from './errorCodes.ts';

export class StrataError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StrataError';
    this.code = code;
  }
}

export class DisposedError extends StrataError {
  constructor(what: string) {
    super('DISPOSED', `${what} has been disposed`);
    this.name = 'DisposedError';
  }
}

/** A bad or unusable model file: corrupt GGUF, unsupported architecture, out of memory. */
export class ModelError extends StrataError {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ModelError';
  }
}

/** A request the caller can fix: missing model, empty question, unknown id. */
export class RequestError extends StrataError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'RequestError';
  }
}

export function errorPayload(error: unknown): { code: ErrorCode; message: string } {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (error instanceof Error && isErrorCode(code)) return { code, message: error.message };
  if (error instanceof Error) return { code: 'INTERNAL', message: error.message };
  return { code: 'INTERNAL', message: String(error) };
}
