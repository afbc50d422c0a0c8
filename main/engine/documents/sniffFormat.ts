/** What the first bytes of a file say it is, before any attempt to read it as text. */
export type SniffedFormat =
  | { format: 'pdf' }
  | { format: 'zip' }
  | { format: 'binary'; label: string; advice?: string }
  | { format: 'unknown' };

interface KnownBinary {
  label: string;
  advice?: string;
  matches: (bytes: Uint8Array) => boolean;
}

const at = (offset: number, magic: string | readonly number[]) => (bytes: Uint8Array): boolean => {
  const expected = typeof magic === 'string' ? [...magic].map((c) => c.charCodeAt(0)) : magic;
  return expected.every((byte, i) => bytes[offset + i] === byte);
};

// Only signatures long or specific enough that a text file cannot start with them by accident.
const KNOWN_BINARIES: readonly KnownBinary[] = [
  {
    label: 'a GGUF model file',
    advice: 'To chat with this model, open it as the model instead of adding it as a document.',
    matches: at(0, 'GGUF'),
  },
  {
    label: 'an older Word, Excel or PowerPoint file (.doc, .xls, .ppt)',
    advice: 'Save it as .docx or PDF and add that instead.',
    matches: at(0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
  },
  { label: 'a PNG image', matches: at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { label: 'a JPEG image', matches: at(0, [0xff, 0xd8, 0xff]) },
  { label: 'a GIF image', matches: (b) => at(0, 'GIF87a')(b) || at(0, 'GIF89a')(b) },
  { label: 'a WebP image', matches: (b) => at(0, 'RIFF')(b) && at(8, 'WEBP')(b) },
  { label: 'a WAV audio file', matches: (b) => at(0, 'RIFF')(b) && at(8, 'WAVE')(b) },
  { label: 'a TIFF image', matches: (b) => at(0, [0x49, 0x49, 0x2a, 0x00])(b) || at(0, [0x4d, 0x4d, 0x00, 0x2a])(b) },
  { label: 'a video or HEIC/AVIF image', matches: at(4, 'ftyp') },
  { label: 'an MP3 audio file', matches: at(0, 'ID3') },
  { label: 'an Ogg audio or video file', matches: at(0, 'OggS') },
  { label: 'a FLAC audio file', matches: at(0, 'fLaC') },
  { label: 'a Matroska/WebM video', matches: at(0, [0x1a, 0x45, 0xdf, 0xa3]) },
  { label: 'a gzip archive', matches: at(0, [0x1f, 0x8b, 0x08]) },
  { label: 'an xz archive', matches: at(0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { label: 'a 7-Zip archive', matches: at(0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) },
  { label: 'a RAR archive', matches: at(0, [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07]) },
  { label: 'a Zstandard archive', matches: at(0, [0x28, 0xb5, 0x2f, 0xfd]) },
  { label: 'an SQLite database', matches: at(0, 'SQLite format 3\0') },
  { label: 'a program (ELF executable)', matches: at(0, [0x7f, 0x45, 0x4c, 0x46]) },
  { label: 'a WebAssembly module', matches: at(0, [0x00, 0x61, 0x73, 0x6d]) },
  { label: 'a compiled program (Mach-O or Java class)', matches: (b) => at(0, [0xca, 0xfe, 0xba, 0xbe])(b) || at(0, [0xcf, 0xfa, 0xed, 0xfe])(b) || at(0, [0xce, 0xfa, 0xed, 0xfe])(b) },
  // "MZ" alone could begin a text file; a real Windows executable also has NULs in its header.
  { label: 'a Windows program (.exe/.dll)', matches: (b) => at(0, 'MZ')(b) && b.subarray(0, 64).includes(0) },
];

// PDF readers accept junk before the header, so look a little way in (pdf.js does the same).
const PDF_HEADER_SEARCH_BYTES = 1024;

export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  if (Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, PDF_HEADER_SEARCH_BYTES)).includes('%PDF-')) {
    return { format: 'pdf' };
  }
  if (at(0, [0x50, 0x4b, 0x03, 0x04])(bytes) || at(0, [0x50, 0x4b, 0x05, 0x06])(bytes)) return { format: 'zip' };
  const known = KNOWN_BINARIES.find((signature) => signature.matches(bytes));
  return known ? { format: 'binary', label: known.label, advice: known.advice } : { format: 'unknown' };
}

/**
 * Names of the entries in a ZIP's central directory, or null when it cannot be found (truncated or
 * not a ZIP). Reading the directory is enough to tell a .docx from an .xlsx or a plain archive without
 * inflating anything.
 */
export function listZipEntryNames(bytes: Uint8Array): string[] | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const END_RECORD_SIZE = 22;
  const lowest = Math.max(0, bytes.byteLength - END_RECORD_SIZE - 0xffff); // the record ends with a ≤64 KiB comment
  for (let end = bytes.byteLength - END_RECORD_SIZE; end >= lowest; end--) {
    if (view.getUint32(end, true) !== 0x06054b50) continue;
    const entryCount = view.getUint16(end + 10, true);
    let offset = view.getUint32(end + 16, true);
    const names: string[] = [];
    const decoder = new TextDecoder();
    for (let i = 0; i < entryCount; i++) {
      if (offset + 46 > bytes.byteLength || view.getUint32(offset, true) !== 0x02014b50) return null;
      const nameLength = view.getUint16(offset + 28, true);
      const extraLength = view.getUint16(offset + 30, true);
      const commentLength = view.getUint16(offset + 32, true);
      names.push(decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength)));
      offset += 46 + nameLength + extraLength + commentLength;
    }
    return names;
  }
  return null;
}

/** What a ZIP holds, judged by its entry names; null when it is a Word document Strata can read. */
export function describeZip(entryNames: readonly string[]): { label: string; advice: string } | null {
  const has = (name: string) => entryNames.includes(name);
  if (has('word/document.xml')) return null;
  if (has('xl/workbook.xml')) return { label: 'an Excel workbook', advice: 'Export the sheets as CSV and add those instead.' };
  if (has('ppt/presentation.xml')) return { label: 'a PowerPoint presentation', advice: 'Export it as PDF and add that instead.' };
  if (has('META-INF/container.xml')) return { label: 'an EPUB e-book', advice: 'Convert it to PDF or plain text and add that instead.' };
  if (has('mimetype') && has('content.xml')) return { label: 'an OpenDocument file', advice: 'Save it as .docx or PDF and add that instead.' };
  return { label: 'a ZIP archive', advice: 'Unzip it and add the documents inside.' };
}
