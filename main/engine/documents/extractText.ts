import { decodeText, type DecodedText } from './decodeText.ts';
import { cancelledError, DocumentError, SUPPORTED_FILES_HINT } from './DocumentError.ts';
import { htmlToText, looksLikeHtml } from './htmlToText.ts';
import { parseInWorker } from './parseInWorker.ts';
import { describeZip, listZipEntryNames, sniffFormat } from './sniffFormat.ts';

export type DocumentKind = 'txt' | 'md' | 'pdf' | 'docx' | 'html';

export interface ExtractTextInput {
  fileName: string;
  bytes: Uint8Array;
  signal?: AbortSignal;
  /** 0..1; PDFs report after every page, other kinds report 1 when done. */
  onProgress?: (fraction: number) => void;
  /** Files larger than this are refused with TOO_LARGE. Default {@link DEFAULT_MAX_DOCUMENT_BYTES}. */
  maxBytes?: number;
}

export interface ExtractedText {
  kind: DocumentKind;
  text: string;
  /** What the user should know about how the text was read (an encoding guessed, bytes replaced). */
  notes: string[];
}

export const DEFAULT_MAX_DOCUMENT_BYTES = 512 * 1024 * 1024;

const UNREADABLE_ZIP = { label: 'a ZIP archive', advice: 'Unzip it and add the documents inside.' };
const MARKDOWN_EXTENSIONS = new Set(['.md', '.markdown', '.mdown', '.mkd']);
const HTML_EXTENSIONS = new Set(['.html', '.htm', '.xhtml']);

/**
 * Reads a document's text, deciding its kind from its content first and its extension second
 * (a .txt full of NULs is binary; a .rs or .csv that decodes as text is text). PDFs and Word
 * documents are parsed on a worker thread (parseInWorker.ts); aborting `signal` ends that thread.
 * Throws {@link DocumentError} with a message fit to show the user.
 */
export async function extractText(input: ExtractTextInput): Promise<ExtractedText> {
  const { bytes, signal, onProgress, maxBytes = DEFAULT_MAX_DOCUMENT_BYTES } = input;
  const name = displayName(input.fileName);
  const extension = /\.[^.]+$/.exec(name)?.[0].toLowerCase() ?? '';
  const throwIfCancelled = () => {
    if (signal?.aborted) throw cancelledError(name, signal.reason);
  };

  throwIfCancelled();
  if (bytes.byteLength > maxBytes) throw tooLarge(name, bytes.byteLength, maxBytes);
  if (bytes.byteLength === 0) throw new DocumentError('EMPTY_DOCUMENT', `${name} is empty. Add a file that contains text.`);

  const sniffed = sniffFormat(bytes);
  let kind: DocumentKind;
  let text: string;
  let notes: string[] = [];
  if (sniffed.format === 'pdf') {
    kind = 'pdf';
    text = await parseInWorker({ kind: 'pdf', displayName: name, bytes, signal, onProgress });
  } else if (sniffed.format === 'zip') {
    const entryNames = listZipEntryNames(bytes);
    // An unreadable ZIP named .docx still goes to mammoth, so the user hears "damaged", not "archive".
    const other = entryNames ? describeZip(entryNames) : extension === '.docx' ? null : UNREADABLE_ZIP;
    if (other) throw unsupported(name, other.label, other.advice);
    kind = 'docx';
    text = await parseInWorker({ kind: 'docx', displayName: name, bytes, signal });
  } else if (sniffed.format === 'binary') {
    throw unsupported(name, sniffed.label, sniffed.advice ?? SUPPORTED_FILES_HINT);
  } else if (extension === '.pdf' || extension === '.docx') {
    // Right name, wrong insides: most often a truncated download or an HTML error page.
    throw new DocumentError(
      'PARSE_FAILED',
      `${name} does not contain ${extension === '.pdf' ? 'a PDF' : 'a Word document'}; it may be damaged or incomplete. Try downloading or exporting it again.`,
    );
  } else {
    const decoded = decodeOrThrow(name, bytes);
    notes = decodingNotes(name, decoded);
    if (HTML_EXTENSIONS.has(extension) || looksLikeHtml(decoded.text)) {
      kind = 'html';
      text = htmlToText(decoded.text);
    } else {
      kind = MARKDOWN_EXTENSIONS.has(extension) ? 'md' : 'txt';
      text = decoded.text;
    }
  }

  throwIfCancelled();
  text = normalize(text);
  if (text.trim() === '') throw emptyText(name, kind);
  if (kind !== 'pdf') onProgress?.(1); // PDFs reported page by page already
  return { kind, text, notes };
}

function decodeOrThrow(name: string, bytes: Uint8Array): DecodedText {
  let decoded: DecodedText | null;
  try {
    decoded = decodeText(bytes);
  } catch (error) {
    throw tooLarge(name, bytes.byteLength, undefined, error);
  }
  if (decoded === null) {
    throw new DocumentError('BINARY_FILE', `${name} looks like a binary file, not text. ${SUPPORTED_FILES_HINT}`);
  }
  return decoded;
}

function decodingNotes(name: string, decoded: DecodedText): string[] {
  const notes: string[] = [];
  if (decoded.replacedBytes > 0) {
    notes.push(`${name}: ${decoded.replacedBytes.toLocaleString('en-US')} byte${decoded.replacedBytes === 1 ? ' was' : 's were'} not valid UTF-8 and ${decoded.replacedBytes === 1 ? 'was' : 'were'} replaced by �; the rest of the text is as written.`);
  } else if (decoded.encoding !== 'utf-8' && !decoded.encoding.startsWith('utf-16')) {
    notes.push(`${name} is not UTF-8; it was read as ${decoded.encoding}.`);
  }
  return notes;
}

function normalize(text: string): string {
  return text.replace(/\r\n?/g, '\n').replaceAll('\0', '').trimEnd();
}

function emptyText(name: string, kind: DocumentKind): DocumentError {
  if (kind === 'pdf') {
    return new DocumentError(
      'EMPTY_DOCUMENT',
      `${name} has no text Strata can read. Scanned PDFs are pictures of pages with no text layer; run OCR on it (for example with OCRmyPDF or Adobe Acrobat) and add the result.`,
    );
  }
  return new DocumentError('EMPTY_DOCUMENT', `${name} has no text in it. Add a file that contains text.`);
}

function unsupported(name: string, label: string, advice: string): DocumentError {
  return new DocumentError('UNSUPPORTED_TYPE', `${name} looks like ${label}, not a document Strata can read. ${advice}`);
}

/** maxBytes is undefined when the file is under the limit but its text is too long for one JS string. */
function tooLarge(name: string, sizeBytes: number, maxBytes: number | undefined, cause?: unknown): DocumentError {
  const mib = (n: number) => `${Math.ceil(n / (1024 * 1024))} MB`;
  const problem = maxBytes === undefined ? 'too much text to hold at once' : `Strata reads documents up to ${mib(maxBytes)}`;
  return new DocumentError('TOO_LARGE', `${name} is ${mib(sizeBytes)}; ${problem}. Split it into smaller files and add those.`, {
    cause,
  });
}

/** The base name, so messages read "report.pdf" even when given a full path. */
function displayName(fileName: string): string {
  return fileName.split(/[\\/]/).pop() || fileName;
}
