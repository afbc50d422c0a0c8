// PDF pages carry lines that are not the document's text: running headers and footers (a title, a
// chapter name, "Confidential") and page numbers. Read into a model they interrupt sentences at every
// page break and spend tokens; a reader skips them. Dropped here, and a word hyphenated across a page
// break is joined, so the pages read as one text.

/** How many lines at each end of a page may be a header or footer. */
const EDGE_LINES = 2;
/** A line at a page edge on at least this share of pages (and 3 pages) is running text. */
const RUNNING_SHARE = 0.5;

const PAGE_NUMBER = /^(?:page\s+)?[-–—(\[]?\s*(?:\d{1,5}|[ivxlcdm]{1,7})\s*[-–—)\]]?(?:\s*(?:of|\/)\s*\d{1,5})?$/i;

/** Each page's text (lines separated by \n) → the document's text, pages separated by a blank line. */
export function joinPdfPages(pages: readonly string[]): string {
  const lines = pages.map((page) => page.split('\n'));
  const edgeKeys = lines.map((page) => new Set(edgeIndices(page).map((i) => runningKey(page[i]))));
  const pagesWith = new Map<string, number>();
  for (const keys of edgeKeys) for (const key of keys) pagesWith.set(key, (pagesWith.get(key) ?? 0) + 1);
  const threshold = Math.max(3, Math.ceil(pages.length * RUNNING_SHARE));
  const running = (line: string) => {
    const key = runningKey(line);
    return key !== '' && (pagesWith.get(key) ?? 0) >= threshold;
  };

  const kept = lines.map((page) => {
    const drop = new Set(edgeIndices(page).filter((i) => PAGE_NUMBER.test(page[i].trim()) || running(page[i])));
    return page.filter((_, i) => !drop.has(i)).join('\n').trim();
  }).filter((text) => text !== '');

  let text = '';
  for (const page of kept) {
    if (text === '') text = page;
    // "exam-" at the foot of one page, "ple" at the head of the next: one word.
    else if (/\p{Ll}-$/u.test(text) && /^\p{Ll}/u.test(page)) text = text.slice(0, -1) + page;
    else text += `\n\n${page}`;
  }
  return text;
}

/** The first and last EDGE_LINES non-empty lines of a page. */
function edgeIndices(page: readonly string[]): number[] {
  const nonEmpty = page.flatMap((line, i) => (line.trim() === '' ? [] : [i]));
  return [...new Set([...nonEmpty.slice(0, EDGE_LINES), ...nonEmpty.slice(-EDGE_LINES)])];
}

/**
 * Lines equal but for a number at either end ("12  Storage Systems", "Proceedings — 12") share a key;
 * a number inside a line keeps it apart ("Line 12 of the report…" is text, numbered on every page).
 */
function runningKey(line: string): string {
  return line.trim().toLowerCase().replace(/\s+/g, ' ').replace(/^\d+\b/, '#').replace(/\b\d+$/, '#');
}
