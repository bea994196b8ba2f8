import { describe, expect, it } from 'vitest';
import { decodeIdCursor, encodeIdCursor } from '../../src/domain/page-cursor.js';

describe('page cursors', () => {
  it('round-trips a row id, and reads no cursor as the first page', () => {
    expect(decodeIdCursor('m', encodeIdCursor('m', '42'))).toBe('42');
    expect(decodeIdCursor('e', encodeIdCursor('e', '9223372036854775807'))).toBe('9223372036854775807');
    expect(decodeIdCursor('m', null)).toBeNull();
    expect(decodeIdCursor('m', '')).toBeNull();
  });

  it.each([
    ['another list', encodeIdCursor('c', '42')],
    ['not a number', encodeIdCursor('m', '4x2')],
    ['past bigint', encodeIdCursor('m', '9223372036854775808')],
    ['20 digits', encodeIdCursor('m', '12345678901234567890')],
    ['negative', encodeIdCursor('m', '-1')],
    ['not ours at all', 'bm90LWEtY3Vyc29y'],
  ])('rejects %s as BAD_USER_INPUT on `after`', (_case, cursor) => {
    expect(() => decodeIdCursor('m', cursor)).toThrow(expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', field: 'after' } }));
  });
});
