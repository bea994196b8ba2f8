import { describe, expect, it } from 'vitest';
import { cuAmount, endsTurn, mapFinnFrame } from '../../src/domain/chat-events.js';

const id = () => 'msg-1';

describe('mapFinnFrame (finn.md A.3 → ChatEvent)', () => {
  it('maps every client-facing frame type', () => {
    expect(mapFinnFrame({ type: 'text_delta', data: { delta: 'Hel' } }, id)).toEqual({ kind: 'event', event: { type: 'text_delta', delta: 'Hel' } });
    expect(mapFinnFrame({ type: 'tool_start', data: { toolName: 'search', args: { q: 'x' } } }, id)).toEqual({
      kind: 'event',
      event: { type: 'tool_start', toolName: 'search', args: { q: 'x' } },
    });
    expect(mapFinnFrame({ type: 'tool_end', data: { toolName: 'search', result: 'ok', isError: true } }, id)).toEqual({
      kind: 'event',
      event: { type: 'tool_end', toolName: 'search', result: 'ok', isError: true },
    });
    expect(mapFinnFrame({ type: 'compaction', data: { reason: 'context full' } }, id)).toEqual({
      kind: 'event',
      event: { type: 'compaction', reason: 'context full' },
    });
    expect(mapFinnFrame({ type: 'agent_end', data: {} }, id)).toEqual({ kind: 'event', event: { type: 'agent_end', messageId: 'msg-1', usage: null } });
  });

  it('accepts CU amounts as strings (as Finn sends them) or numbers, and an empty turn_end', () => {
    expect(mapFinnFrame({ type: 'turn_end', data: { cost_cu: '1', balance_cu: '999' } }, id)).toEqual({
      kind: 'event',
      event: { type: 'turn_end', costCu: 1, balanceCu: 999 },
    });
    expect(mapFinnFrame({ type: 'turn_end', data: { cost_cu: 2.5, balance_cu: 10 } }, id)).toMatchObject({ event: { costCu: 2.5, balanceCu: 10 } });
    expect(mapFinnFrame({ type: 'turn_end', data: {} }, id)).toMatchObject({ event: { costCu: null, balanceCu: null } });
    expect(mapFinnFrame({ type: 'turn_end' }, id)).toMatchObject({ event: { costCu: null, balanceCu: null } });
    expect(cuAmount('abc')).toBeNull();
    expect(cuAmount('')).toBeNull();
    expect(cuAmount(Number.NaN)).toBeNull();
  });

  it("never forwards Finn's error text; keeps recoverable; codes the error", () => {
    const out = mapFinnFrame({ type: 'error', data: { message: 'stack trace at /srv/finn', recoverable: true } }, id);
    expect(out).toEqual({
      kind: 'event',
      event: { type: 'error', code: 'UPSTREAM_ERROR', message: 'The agent reported an error', recoverable: true, retryAfter: null },
    });
    expect(mapFinnFrame({ type: 'error', data: {} }, id)).toMatchObject({ event: { recoverable: false } });
    expect(mapFinnFrame({ type: 'billing_blocked', data: { reason: 'x' } }, id)).toMatchObject({ event: { type: 'error', code: 'USAGE_LIMIT' } });
  });

  it('separates pongs and ignores unknown or malformed frames', () => {
    expect(mapFinnFrame({ type: 'pong' }, id)).toEqual({ kind: 'pong' });
    expect(mapFinnFrame({ type: 'credit_warning', data: { balance_cu: '5' } }, id)).toEqual({ kind: 'ignored', frameType: 'credit_warning' });
    expect(mapFinnFrame(undefined, id)).toEqual({ kind: 'ignored', frameType: 'unknown' });
    expect(mapFinnFrame('text', id)).toEqual({ kind: 'ignored', frameType: 'unknown' });
  });

  it('tolerates missing or non-string fields', () => {
    expect(mapFinnFrame({ type: 'text_delta' }, id)).toMatchObject({ event: { delta: '' } });
    expect(mapFinnFrame({ type: 'tool_end', data: { toolName: 't', result: { a: 1 } } }, id)).toMatchObject({ event: { result: '{"a":1}', isError: false } });
    expect(mapFinnFrame({ type: 'tool_start', data: { toolName: 't' } }, id)).toMatchObject({ event: { args: null } });
  });

  it('ends a turn on agent_end and error only', () => {
    expect(endsTurn({ type: 'agent_end', messageId: 'm', usage: null })).toBe(true);
    expect(endsTurn({ type: 'error', code: 'UPSTREAM_ERROR', message: 'm', recoverable: true, retryAfter: null })).toBe(true);
    expect(endsTurn({ type: 'turn_end', costCu: null, balanceCu: null })).toBe(false);
  });
});
