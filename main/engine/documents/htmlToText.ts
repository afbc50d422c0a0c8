// HTML pages as the text a reader sees, through html-to-text (a well-kept converter): no tags, no
// <script>/<style>/<head> contents, links as their words only, images dropped, lines not re-wrapped
// (the model reads paragraphs, not 80-column lines), lists and tables kept as lines.
import { convert } from 'html-to-text';

const OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'noscript', format: 'skip' },
    { selector: 'nav', format: 'skip' },
    // Upper-cased headings would change the words the model reads.
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
};

export function htmlToText(html: string): string {
  return convert(html, OPTIONS).replace(/\n{3,}/g, '\n\n');
}

/** A text file that is an HTML page whatever its name (a saved page, an exported help file). */
export function looksLikeHtml(text: string): boolean {
  return /^\s*(<!--[\s\S]*?-->\s*)*(<!doctype html|<html[\s>])/i.test(text.slice(0, 4096));
}
