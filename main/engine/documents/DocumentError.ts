export type DocumentErrorCode =
  | 'UNSUPPORTED_TYPE'
  | 'BINARY_FILE'
  | 'EMPTY_DOCUMENT'
  | 'PARSE_FAILED'
  | 'TOO_LARGE'
  | 'CANCELLED';

/** What Strata can read, appended to messages that turn a file away. */
export const SUPPORTED_FILES_HINT =
  'Strata reads .txt, .md, .pdf and .docx files and other plain-text files (source code, CSV, JSON…).';

/**
 * A document could not be turned into text. `message` is shown to the user as is: it names the file
 * and says what to do. `code` is stable, so callers branch on it and can rebuild the error after IPC.
 */
export class DocumentError extends Error {
  readonly code: DocumentErrorCode;

  constructor(code: DocumentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DocumentError';
    this.code = code;
  }
}

/** The error every cancelled read rejects with. */
export function cancelledError(displayName: string, reason: unknown): DocumentError {
  return new DocumentError('CANCELLED', `Reading ${displayName} was cancelled.`, { cause: reason });
}
