import { getDocumentProxy } from 'unpdf';
import { DocumentError } from './DocumentError.ts';
import { joinPdfPages } from './joinPdfPages.ts';

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

const VERBOSITY_ERRORS_ONLY = 0; // pdf.js otherwise logs font and xref warnings to the console

/**
 * The text of every page, pages separated by a blank line, without running headers, footers and page
 * numbers (joinPdfPages.ts). Reads page by page so a long PDF can report progress and be
 * cancelled between pages.
 */
export async function extractPdfText(
  displayName: string,
  bytes: Uint8Array,
  throwIfCancelled: () => void,
  onProgress?: (fraction: number) => void,
): Promise<string> {
  // A copy, as a plain Uint8Array: pdf.js detaches the buffer it is given (the caller's bytes must
  // survive) and rejects Node Buffers, which is what fs.readFile returns (and Buffer#slice keeps).
  const copy = new Uint8Array(bytes);
  const pdf = await callPdfJs(displayName, () => getDocumentProxy(copy, { verbosity: VERBOSITY_ERRORS_ONLY }));
  try {
    const pageTexts: string[] = [];
    onProgress?.(0);
    for (let pageNumber = 1; pageNumber <= pdf.numPages; pageNumber++) {
      throwIfCancelled();
      pageTexts.push(await callPdfJs(displayName, () => readPage(pdf, pageNumber)));
      onProgress?.(pageNumber / pdf.numPages);
    }
    return joinPdfPages(pageTexts);
  } finally {
    await pdf.loadingTask.destroy().catch(() => {}); // this pdf.js has no PDFDocumentProxy.destroy()
  }
}

async function readPage(pdf: PdfDocument, pageNumber: number): Promise<string> {
  const page = await pdf.getPage(pageNumber);
  const content = await page.getTextContent();
  page.cleanup();
  let text = '';
  for (const item of content.items) {
    if ('str' in item) text += item.str + (item.hasEOL ? '\n' : '');
  }
  return tidyPageText(text);
}

function tidyPageText(text: string): string {
  return text
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    // "exam-\nple" → "example": only a lowercase letter on both sides, so "Jean-\nPaul" and "-\n2" stay.
    .replace(/(\p{Ll})-\n(\p{Ll})/gu, '$1$2')
    .trim();
}

async function callPdfJs<T>(displayName: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if ((error as { name?: unknown }).name === 'PasswordException') {
      throw new DocumentError(
        'PARSE_FAILED',
        `${displayName} is password-protected. Open it in a PDF viewer, save a copy without the password, and add that instead.`,
        { cause: error },
      );
    }
    throw new DocumentError(
      'PARSE_FAILED',
      `${displayName} could not be read as a PDF; it may be damaged or incomplete. Try downloading or exporting it again.`,
      { cause: error },
    );
  }
}
