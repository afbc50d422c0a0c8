import mammoth from 'mammoth';
import { DocumentError } from './DocumentError.ts';

/**
 * The text of a .docx, one paragraph per line. mammoth ends every paragraph with a blank line, so a
 * letter of one-line paragraphs would read double-spaced; an empty paragraph stays a blank line.
 */
export async function extractDocxText(displayName: string, bytes: Uint8Array): Promise<string> {
  try {
    const result = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    return result.value.replace(/\n\n/g, '\n');
  } catch (error) {
    throw new DocumentError(
      'PARSE_FAILED',
      `${displayName} could not be read as a Word document; it may be damaged or incomplete. Open it in Word or LibreOffice, save it again as .docx, and add that instead.`,
      { cause: error },
    );
  }
}
