// One list of error codes: docs/ARCHITECTURE.md's table explains exactly the codes in ERROR_CODES.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { ERROR_CODES } from './errorCodes.ts';
import { errorPayload, StrataError } from './errors.ts';

test("docs/ARCHITECTURE.md's error table lists every code, with its meaning, and no other", () => {
  const doc = readFileSync(new URL('../../docs/ARCHITECTURE.md', import.meta.url), 'utf8');
  const table = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]));
  assert.deepEqual([...table.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, meaning] of Object.entries(ERROR_CODES)) assert.equal(table.get(code), meaning, code);
});

test('an error with a code outside the list crosses as INTERNAL, with its message', () => {
  assert.deepEqual(errorPayload(Object.assign(new Error('odd'), { code: 'SOMETHING_ELSE' })), { code: 'INTERNAL', message: 'odd' });
  assert.deepEqual(errorPayload(new StrataError('NO_MODEL', 'Open a model first.')), { code: 'NO_MODEL', message: 'Open a model first.' });
});
