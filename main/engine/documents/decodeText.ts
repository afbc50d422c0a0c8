// Text files carry a few control characters now and then (ANSI colour escapes, form feeds,
// SOH-delimited logs); binaries that get past the NUL and encoding checks are full of them.
const MAX_CONTROL_SHARE = 0.05;
const SAMPLE_CHARS = 1 << 20;

/**
 * Decodes a file's bytes as text, or returns null when they do not look like text.
 * UTF-16 needs a BOM; otherwise UTF-8 (BOM optional), falling back to Windows-1252 because
 * spreadsheets and editors on Windows still save "ANSI" CSV and text files.
 */
export function decodeText(bytes: Uint8Array): string | null {
  let text: string | null;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = decode('utf-16le', bytes);
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = decode('utf-16be', bytes);
  else if (bytes.includes(0)) return null; // NUL never appears in 8-bit text; it is the surest binary tell
  else text = decode('utf-8', bytes) ?? decode('windows-1252', bytes);
  return text !== null && looksLikeText(text) ? text : null;
}

function decode(encoding: string, bytes: Uint8Array): string | null {
  try {
    // Decoders drop a leading BOM by default (ignoreBOM: false).
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
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
