import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGaps, measureEventLoopGaps } from '../../test/measureEventLoopGaps.ts';
import { DocumentError, type DocumentErrorCode } from './DocumentError.ts';
import { extractText } from './extractText.ts';
import { makeDocx, makePdf, makeZip } from './testFixtures.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

async function assertRefused(
  fileName: string,
  bytes: Uint8Array,
  codes: readonly DocumentErrorCode[],
  messagePattern?: RegExp,
): Promise<DocumentError> {
  const error = await extractText({ fileName, bytes }).then(
    () => assert.fail(`${fileName} should have been refused`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DocumentError, `expected a DocumentError, got ${String(error)}`);
  assert.ok(codes.includes(error.code), `code ${error.code}, expected ${codes.join(' or ')}`);
  assert.ok(error.message.includes(fileName), `message should name the file: ${error.message}`);
  if (messagePattern) assert.match(error.message, messagePattern);
  return error;
}

describe('extractText: text files', () => {
  it('strips the UTF-8 BOM, turns CRLF into LF, keeps non-ASCII and drops trailing whitespace', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('naïve — 東京\r\nsecond line\r\n\r\n  \n')]);
    assert.deepEqual(await extractText({ fileName: 'notes.txt', bytes }), { kind: 'txt', text: 'naïve — 東京\nsecond line', notes: [] });
  });

  it('reads UTF-16 with a BOM', async () => {
    const bytes = new Uint8Array([0xff, 0xfe, ...Buffer.from('Grüße aus 東京\r\n', 'utf16le')]);
    assert.deepEqual(await extractText({ fileName: 'utf16.txt', bytes }), { kind: 'txt', text: 'Grüße aus 東京', notes: [] });
  });

  it('reads a legacy Windows-1252 CSV instead of calling it binary', async () => {
    const bytes = new Uint8Array([...utf8('name;city\ncaf'), 0xe9, ...utf8(';Z'), 0xfc, ...utf8('rich\n')]);
    assert.equal((await extractText({ fileName: 'export.csv', bytes })).text, 'name;city\ncafé;Zürich');
  });

  it('reads UTF-8 with a few invalid bytes as UTF-8, replacing and counting them, never as Windows-1252', async () => {
    const prose = 'Les élèves ont déjà lu « Bérénice » à l’école; naïve café crème. '.repeat(40);
    const bytes = new Uint8Array([...utf8(prose), 0xff, ...utf8(prose)]);
    const result = await extractText({ fileName: 'notes.txt', bytes });
    assert.equal(result.text, `${prose}\uFFFD${prose}`.trimEnd());
    assert.equal(result.notes.length, 1);
    assert.match(result.notes[0], /notes\.txt: 1 byte was not valid UTF-8 and was replaced/);
    // A U+FFFD the author wrote is not a damaged byte.
    const written = await extractText({ fileName: 'fffd.txt', bytes: new Uint8Array([...utf8('a \uFFFD b '.repeat(10)), 0xc3, ...utf8(' end')]) });
    assert.match(written.notes[0], /1 byte was not valid/);
  });

  it('detects other encodings (Windows-1251 Russian, Shift_JIS Japanese) and says which', async () => {
    const russian = 'Съешь же ещё этих мягких французских булок, да выпей чаю. '.repeat(20);
    const cp1251 = Uint8Array.from(russian, (ch) => {
      const code = ch.codePointAt(0)!;
      if (code < 0x80) return code;
      if (ch === 'ё') return 0xb8;
      return code - 0x410 + 0xc0; // А..я are 0xC0..0xFF in Windows-1251
    });
    const ru = await extractText({ fileName: 'ru.txt', bytes: cp1251 });
    assert.equal(ru.text, russian.trimEnd());
    assert.match(ru.notes[0], /ru\.txt is not UTF-8; it was read as windows-1251/);
  });

  it('turns an HTML page into the text a reader sees: no tags, styles, scripts or navigation', async () => {
    const html = `<!DOCTYPE html><html><head><title>Manual</title><style>body { color: red; }</style>
      <script>var tracking = "do not read";</script></head><body><nav><a href="/">Home</a> | <a href="/x">Index</a></nav>
      <h1>Installing Debian</h1><p>Boot the <a href="https://example.org/iso">installer image</a> and follow
      the <b>prompts</b>.</p><ul><li>Choose a language</li><li>Partition the disk</li></ul>
      <table><tr><th>Arch</th><th>Size</th></tr><tr><td>amd64</td><td>650 MB</td></tr></table></body></html>`;
    const result = await extractText({ fileName: 'install.html', bytes: utf8(html) });
    assert.equal(result.kind, 'html');
    assert.match(result.text, /^Installing Debian\n/);
    assert.match(result.text, /Boot the installer image and follow the prompts\./);
    assert.match(result.text, /Choose a language[\s\S]*Partition the disk/);
    assert.match(result.text, /amd64\s+650 MB/);
    for (const absent of ['<', 'color: red', 'tracking', 'https://', 'Home', 'Index']) assert.ok(!result.text.includes(absent), `no "${absent}" in ${JSON.stringify(result.text)}`);
    // A saved page under another name is still a page.
    assert.equal((await extractText({ fileName: 'page.txt', bytes: utf8(html) })).kind, 'html');
  });

  it('reads Markdown as md and keeps its paragraphs', async () => {
    const markdown = '# Title\n\nFirst paragraph.\n\n- item one\n- item two\n';
    assert.deepEqual(await extractText({ fileName: 'README.md', bytes: utf8(markdown) }), { kind: 'md', text: markdown.trimEnd(), notes: [] });
  });

  it('accepts source code with an extension it has never heard of', async () => {
    const source = 'fn main() {\n\tprintln!("hello, world");\n}\n';
    const progress: number[] = [];
    const result = await extractText({ fileName: 'src/main.rs', bytes: utf8(source), onProgress: (f) => progress.push(f) });
    assert.equal(result.kind, 'txt');
    assert.deepEqual(progress, [1]);
    assert.match(result.text, /println!\("hello, world"\);/);
  });
});

describe('extractText: PDF', () => {
  it('reads every page, in order, separated by a blank line, reporting progress per page', async () => {
    const pdf = makePdf([
      ['The quick brown fox jumps over the lazy dog.', 'It was a well-known exam-', 'ple of a pangram.'],
      ['Page two has its own sentence (with parentheses).'],
      ['The third page ends the document.'],
    ]);
    const progress: number[] = [];
    const result = await extractText({ fileName: 'fox.pdf', bytes: pdf, onProgress: (f) => progress.push(f) });
    assert.equal(result.kind, 'pdf');
    assert.match(result.text, /^The quick brown fox jumps over the lazy dog\.\n/);
    assert.match(result.text, /example of a pangram\.\n\nPage two has its own sentence \(with parentheses\)\.\n\nThe third page/);
    assert.match(result.text, /well-known/);
    assert.deepEqual(progress, [0, 1 / 3, 2 / 3, 1]);
    assert.ok(pdf[0] === 0x25 && pdf.byteLength > 0, 'the caller’s bytes must not be detached by pdf.js');
  });

  it('drops running headers, footers and page numbers, and joins a word hyphenated across pages', async () => {
    const pages = Array.from({ length: 5 }, (_, i) => [
      'USENIX Annual Technical Conference',
      ['Storage systems fail in many ways.', 'We measured every disk.', 'The results follow.', 'Related work is older.', 'We conclude briefly.'][i],
      `Body text of page ${i + 1} continues with an exam-`,
      i % 2 === 0 ? `${i + 1}` : `Page ${i + 1} of 5`,
    ]);
    pages[2] = ['USENIX Annual Technical Conference', 'ple that spans the page break.', '3'];
    const text = (await extractText({ fileName: 'paper.pdf', bytes: makePdf(pages) })).text;
    assert.ok(!text.includes('USENIX Annual'), `the running header is gone: ${JSON.stringify(text)}`);
    assert.ok(!/^(Page )?\d( of 5)?$/m.test(text), `page numbers are gone: ${JSON.stringify(text)}`);
    assert.match(text, /^Storage systems fail in many ways\./);
    assert.match(text, /an example that spans the page break\./);
    assert.match(text, /Related work is older\.\nBody text of page 4/);
  });

  it('reads a PDF handed over as a Node Buffer, as fs.readFile returns it', async () => {
    const pdf = Buffer.from(makePdf([['Read from disk.']]));
    assert.deepEqual(await extractText({ fileName: 'disk.pdf', bytes: pdf }), { kind: 'pdf', text: 'Read from disk.', notes: [] });
  });

  it('says a PDF without a text layer is probably scanned', async () => {
    await assertRefused('scan.pdf', makePdf([[], []]), ['EMPTY_DOCUMENT'], /scanned/i);
  });

  it('refuses a truncated PDF as damaged', async () => {
    const pdf = makePdf([['This document will be cut short.']]);
    await assertRefused('cut.pdf', pdf.subarray(0, Math.floor(pdf.byteLength / 2)), ['PARSE_FAILED'], /damaged/);
  });

  it('refuses a file named .pdf that is not a PDF as damaged', async () => {
    await assertRefused('download.pdf', utf8('<html><body>404 Not Found</body></html>'), ['PARSE_FAILED']);
  });
});

describe('extractText: Word', () => {
  it('reads the paragraphs of a .docx', async () => {
    const docx = await makeDocx(['First paragraph of the report.', 'Second paragraph: naïve & <quoted>.']);
    const result = await extractText({ fileName: 'report.docx', bytes: docx });
    assert.equal(result.kind, 'docx');
    assert.equal(result.text, 'First paragraph of the report.\nSecond paragraph: naïve & <quoted>.');
  });

  it('gives a .docx one line per paragraph, not a blank line after each', async () => {
    const docx = await makeDocx(['Dear tenant,', 'The rent is due on the first.', '', 'Regards,']);
    assert.equal((await extractText({ fileName: 'letter.docx', bytes: docx })).text, 'Dear tenant,\nThe rent is due on the first.\n\nRegards,');
  });

  it('recognises a .docx by its contents even without the extension', async () => {
    const docx = await makeDocx(['Renamed but still Word.']);
    assert.deepEqual(await extractText({ fileName: 'attachment', bytes: docx }), { kind: 'docx', text: 'Renamed but still Word.', notes: [] });
  });

  it('refuses a .docx with broken XML as damaged', async () => {
    const docx = await makeDocx([], '<w:document><w:body><w:p>never closed');
    await assertRefused('broken.docx', docx, ['PARSE_FAILED'], /damaged/);
  });

  it('refuses a truncated .docx as damaged', async () => {
    const docx = await makeDocx(['Cut short.']);
    await assertRefused('cut.docx', docx.subarray(0, 100), ['PARSE_FAILED']);
  });
});

describe('extractText: files that are not documents', () => {
  it('calls random bytes with NULs named .txt binary', async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    bytes[10] = 0;
    await assertRefused('data.txt', bytes, ['BINARY_FILE'], /binary.*Strata reads \.txt, \.md, \.pdf and \.docx/);
  });

  it('refuses a PNG image', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, ...utf8('IHDR')]);
    await assertRefused('photo.png', png, ['UNSUPPORTED_TYPE', 'BINARY_FILE'], /image/);
  });

  it('tells the user a GGUF file is a model to open as the model', async () => {
    const gguf = new Uint8Array([...utf8('GGUF'), 3, 0, 0, 0, ...new Uint8Array(64)]);
    await assertRefused('llama-3-8b.Q4_K_M.gguf', gguf, ['UNSUPPORTED_TYPE'], /model.*open it as the model/i);
  });

  it('refuses a ZIP that is not a Word document and says to unzip it', async () => {
    const zip = await makeZip({ 'notes/a.txt': 'alpha', 'notes/b.txt': 'beta' });
    await assertRefused('notes.zip', zip, ['UNSUPPORTED_TYPE'], /ZIP archive.*Unzip/);
  });

  it('names an Excel workbook for what it is', async () => {
    const xlsx = await makeZip({ '[Content_Types].xml': '<Types/>', 'xl/workbook.xml': '<workbook/>' });
    await assertRefused('budget.xlsx', xlsx, ['UNSUPPORTED_TYPE'], /Excel.*CSV/);
  });

  it('refuses empty and whitespace-only files', async () => {
    await assertRefused('empty.txt', new Uint8Array(0), ['EMPTY_DOCUMENT']);
    await assertRefused('blank.md', utf8(' \r\n\t\n  '), ['EMPTY_DOCUMENT']);
    await assertRefused('blank.docx', await makeDocx(['   ', '']), ['EMPTY_DOCUMENT']);
  });

  it('refuses a file over maxBytes before reading it', async () => {
    const error = await extractText({ fileName: 'big.log', bytes: new Uint8Array(3 * 1024 * 1024), maxBytes: 2 * 1024 * 1024 }).catch((e: unknown) => e);
    assert.ok(error instanceof DocumentError);
    assert.equal(error.code, 'TOO_LARGE');
    assert.match(error.message, /big\.log is 3 MB; Strata reads documents up to 2 MB/);
  });

  it('uses the base name in messages when given a path', async () => {
    const error = await extractText({ fileName: 'C:\\Users\\me\\empty.txt', bytes: new Uint8Array(0) }).catch((e: unknown) => e);
    assert.ok(error instanceof DocumentError);
    assert.match(error.message, /^empty\.txt is empty/);
  });
});

describe('extractText: cancellation', () => {
  it('stops at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    for (const [fileName, bytes] of [['a.txt', utf8('hello')], ['a.pdf', makePdf([['hello']])]] as const) {
      const error = await extractText({ fileName, bytes, signal: controller.signal }).catch((e: unknown) => e);
      assert.ok(error instanceof DocumentError);
      assert.equal(error.code, 'CANCELLED');
      assert.match(error.message, new RegExp(fileName.replace('.', '\\.')));
    }
  });

  it('stops between PDF pages when aborted mid-document', async () => {
    const controller = new AbortController();
    const progress: number[] = [];
    const onProgress = (fraction: number) => {
      progress.push(fraction);
      if (fraction > 0) controller.abort(); // after the first page
    };
    const pdf = makePdf([['one'], ['two'], ['three'], ['four']]);
    const error = await extractText({ fileName: 'long.pdf', bytes: pdf, signal: controller.signal, onProgress }).catch((e: unknown) => e);
    assert.ok(error instanceof DocumentError);
    assert.equal(error.code, 'CANCELLED');
    assert.deepEqual(progress, [0, 0.25]);
  });
});

describe('extractText: off the main thread', () => {
  const line = (i: number) => `Line ${i} of the report says the river light is quiet over the green field.`;

  it('keeps the main thread running timers while a long PDF and a long .docx are parsed', { timeout: 120_000 }, async (t) => {
    const pdf = makePdf(Array.from({ length: 300 }, (_, page) => Array.from({ length: 45 }, (_, i) => line(page * 45 + i))));
    const docx = await makeDocx(Array.from({ length: 30_000 }, (_, i) => line(i)));
    for (const [fileName, bytes, lastLine] of [['long.pdf', pdf, line(300 * 45 - 1)], ['long.docx', docx, line(29_999)]] as const) {
      const { result, gaps, elapsedMs } = await measureEventLoopGaps(() => extractText({ fileName, bytes }));
      t.diagnostic(`${fileName} (${(bytes.byteLength / 1e6).toFixed(1)} MB, ${result.text.length} chars) in ${elapsedMs.toFixed(0)} ms; main thread: ${formatGaps(gaps)}`);
      assert.ok(result.text.endsWith(lastLine), `${fileName} read to its end`);
      assert.ok(gaps.samples >= elapsedMs / 10 / 2, `the timer ran ${gaps.samples} times in ${elapsedMs.toFixed(0)} ms`);
      assert.ok(gaps.p99Ms < 100, `${fileName}: p99 gap ${gaps.p99Ms.toFixed(1)} ms`);
    }
  });

  it('cancelling a long .docx ends its parsing at once', { timeout: 60_000 }, async () => {
    const docx = await makeDocx(Array.from({ length: 30_000 }, (_, i) => line(i)));
    const controller = new AbortController();
    const reading = extractText({ fileName: 'long.docx', bytes: docx, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 300)); // mammoth is busy by now
    const abortedAt = performance.now();
    controller.abort();
    const error = await reading.catch((e: unknown) => e);
    assert.ok(error instanceof DocumentError);
    assert.equal(error.code, 'CANCELLED');
    assert.match(error.message, /Reading long\.docx was cancelled/);
    assert.ok(performance.now() - abortedAt < 100, 'rejected without waiting for mammoth');
  });
});
