import { describe, expect, it } from 'vitest';
import { isStorableText, storableText } from '../../src/domain/text.js';

describe('text PostgreSQL can store', () => {
  it.each([
    ['plain text', 'hello', true],
    ['emoji (a surrogate pair)', 'bera 🐻', true],
    ['U+0000', 'a\u0000b', false],
    ['a lone high surrogate', 'a\uD83Db', false],
    ['a lone low surrogate at the end', 'ab\uDC3B', false],
  ])('%s', (_case, text, storable) => {
    expect(isStorableText(text)).toBe(storable);
    expect(isStorableText(storableText(text))).toBe(true);
  });

  it('replaces only what cannot be stored', () => {
    expect(storableText('a\u0000b\uD83D 🐻')).toBe('a\uFFFDb\uFFFD 🐻');
    const same = 'unchanged 🐻';
    expect(storableText(same)).toBe(same);
  });
});
