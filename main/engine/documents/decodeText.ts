import chardet from 'chardet';

// Text files carry a few control characters now and then (ANSI colour escapes, form feeds,
// SOH-delimited logs); binaries that get past the NUL and encoding checks are full of them.
const MAX_CONTROL_SHARE = 0.05;
const SAMPLE_CHARS = 1 << 20;

/** A UTF-8 file with at most this share of invalid bytes is UTF-8 with a few damaged bytes, not another encoding. */
const MAX_INVALID_UTF8_SHARE = 0.001;

export interface DecodedText {
  text: string;
  /** The encoding the bytes were read as (WHATWG label). */
  encoding: string;
  /** Bytes that were not valid in that encoding, each replaced by U+FFFD. */
  replacedBytes: number;
}

/**
 * Decodes a file's bytes as text, or returns null when they do not look like text.
 * UTF-16 needs a BOM. Otherwise UTF-8 (BOM optional), also when a few bytes are invalid (a text
 * edited with two encodings, a truncated download): those become U+FFFD and are counted, instead
 * of the whole file being read as another encoding. Anything else is detected (chardet: byte
 * statistics per encoding), so "ANSI" files from Windows, Shift_JIS or KOI8-R read right.
 */
export function decodeText(bytes: Uint8Array): DecodedText | null {
  let decoded: DecodedText | null;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) decoded = exact('utf-16le', bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) decoded = exact('utf-16be', bytes);
  else if (bytes.includes(0)) return null; // NUL never appears in 8-bit text; it is the surest binary tell
  else decoded = exact('utf-8', bytes) ?? mostlyUtf8(bytes) ?? detected(bytes);
  return decoded !== null && looksLikeText(decoded.text) ? decoded : null;
}

function exact(encoding: string, bytes: Uint8Array): DecodedText | null {
  const text = decode(encoding, bytes, true);
  return text === null ? null : { text, encoding, replacedBytes: 0 };
}

function mostlyUtf8(bytes: Uint8Array): DecodedText | null {
  const text = decode('utf-8', bytes, false);
  if (text === null) return null;
  let replaced = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) replaced++;
  // U+FFFD written on purpose (EF BF BD) is not a damaged byte.
  for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) replaced--;
  return replaced > 0 && replaced <= Math.max(1, bytes.length * MAX_INVALID_UTF8_SHARE) ? { text, encoding: 'utf-8', replacedBytes: replaced } : null;
}

function detected(bytes: Uint8Array): DecodedText | null {
  const sample = bytes.length > SAMPLE_CHARS ? bytes.subarray(0, SAMPLE_CHARS) : bytes;
  for (const { name } of chardet.analyse(sample)) {
    const encoding = name.toLowerCase();
    if (encoding.startsWith('utf-16') || encoding.startsWith('utf-32')) continue; // those need a BOM here
    const text = decode(encoding, bytes, true);
    if (text !== null) return { text, encoding, replacedBytes: 0 };
  }
  return exact('windows-1252', bytes);
}

function decode(encoding: string, bytes: Uint8Array, fatal: boolean): string | null {
  try {
    // Decoders drop a leading BOM by default (ignoreBOM: false).
    return new TextDecoder(encoding, { fatal }).decode(bytes);
  } catch (error) {
    // Past V8's string limit (~512 Mi chars) is not an encoding problem; the caller reports it as too large.
    if ((error as { code?: unknown }).code === 'ERR_STRING_TOO_LONG') throw error;
    return null; // invalid data for this encoding, or a runtime built without it
  }
}

function looksLikeText(text: string): boolean {
  const sampleLength = Math.min(text.length, SAMPLE_CHARS);
  let controlCount = 0;
  for (let i = 0; i < sampleLength; i++) {
    const code = text.charCodeAt(i);
    const isAllowedC0 = code === 0x09 || code === 0x0a || code === 0x0b || code === 0x0c || code === 0x0d || code === 0x1b;
    if ((code < 0x20 && !isAllowedC0) || (code >= 0x7f && code <= 0x9f)) controlCount++;
  }
  return controlCount <= sampleLength * MAX_CONTROL_SHARE;
}
