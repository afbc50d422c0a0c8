import mammoth from 'mammoth';
import { DocumentError } from './DocumentError.ts';

/** The raw text of a .docx (paragraphs separated by a blank line), as mammoth reads it. */
export async function extractDocxText(displayName: string, bytes: Uint8Array): Promise<string> {
  try {
    const result = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) });
    return result.value;
  } catch (error) {
    throw new DocumentError(
      'PARSE_FAILED',
      `${displayName} could not be read as a Word document; it may be damaged or incomplete. Open it in Word or LibreOffice, save it again as .docx, and add that instead.`,
      { cause: error },
    );
  }
}
