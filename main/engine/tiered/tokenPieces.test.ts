import assert from 'node:assert/strict';
import test from 'node:test';
import { loadTestVocabularies } from '../testModels/testVocabularies.ts';
import { tokenPieces } from './tokenPieces.ts';

const TEXT = 'river light K17 : V04 V09 .\n\nstone naïve — 東京, a "quote" and tabs\tend.';

test('token pieces join back to the exact text, spaces and multi-byte characters included', { timeout: 60_000 }, async (t) => {
  for (const model of await loadTestVocabularies(t)) {
    const tokens = [model.tokens.bos!, ...model.tokenize(TEXT)];
    const pieces = tokenPieces(model, tokens);
    assert.equal(pieces.length, tokens.length);
    assert.equal(pieces.join(''), TEXT);
  }
});
