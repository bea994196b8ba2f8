import { describe, expect, it } from 'vitest';
import { createTurnAssembler } from '../../src/domain/memory-events.js';
import { computeProjection, keywords, type ProjectionMessage } from '../../src/domain/memory-projection.js';

const msg = (conversationId: string, role: 'user' | 'assistant', text: string, i = 0): ProjectionMessage => ({
  conversationId,
  role,
  text,
  createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
});

describe('memory projection', () => {
  it('removes stop words, short words and numbers from keywords', () => {
    expect(keywords('What is the Honey-Jar, and why 2025? Tell me about the bears!')).toEqual(['honey-jar', 'bears']);
  });

  it('ranks topics by frequency over the last 50 messages only', () => {
    const old = Array.from({ length: 60 }, (_, i) => msg('c0', 'user', 'ancient ancient ancient', i));
    const recent = [msg('c1', 'user', 'dragons and castles', 61), msg('c1', 'assistant', 'dragons breathe fire', 62), msg('c1', 'user', 'castles of dragons?', 63)];
    const p = computeProjection({ conversationCount: 2, sealedConversationCount: 1, lastInteraction: '2025-01-01T00:01:03.000Z', messages: [...old, ...recent] });
    // 47 of the old messages are still within the last 50 (141 × ancient), then dragons ×3, castles ×2.
    expect(p.recentTopics.slice(0, 3)).toEqual(['ancient', 'dragons', 'castles']);
    expect(p.conversationCount).toBe(2);
    expect(p.sealedConversationCount).toBe(1);
    expect(p.lastInteraction).toBe('2025-01-01T00:01:03.000Z');
    const onlyRecent = computeProjection({ conversationCount: 1, sealedConversationCount: 0, lastInteraction: null, messages: [...old.slice(0, 3), ...Array.from({ length: 50 }, (_, i) => msg('c1', 'user', 'berries', 100 + i))] });
    expect(onlyRecent.recentTopics).toEqual(['berries']);
  });

  it('lists unanswered questions per conversation, newest first, and summarises', () => {
    const p = computeProjection({
      conversationCount: 2,
      sealedConversationCount: 0,
      lastInteraction: null,
      messages: [msg('a', 'user', 'Where is the vault?'), msg('a', 'assistant', 'Behind the falls.'), msg('b', 'user', 'Who minted it?'), msg('a', 'user', 'And the key?  ')],
    });
    expect(p.unresolvedQuestions).toEqual(['And the key?', 'Who minted it?']);
    expect(p.activeSummary).toContain('Last asked: "And the key?"');
    expect(computeProjection({ conversationCount: 0, sealedConversationCount: 0, lastInteraction: null, messages: [] })).toEqual({
      conversationCount: 0, sealedConversationCount: 0, lastInteraction: null, recentTopics: [], unresolvedQuestions: [], activeSummary: null,
    });
  });
});

describe('turn assembler', () => {
  it('turns a streamed turn into user message, assistant text segments and tool_use, in order', () => {
    const t = createTurnAssembler();
    const out = [
      ...t.push({ kind: 'prompt', text: 'hi' }),
      ...t.push({ kind: 'event', event: { type: 'model_selection', pool: 'p', reason: 'r' } }),
      ...t.push({ kind: 'event', event: { type: 'text_delta', delta: 'Echo: ' } }),
      ...t.push({ kind: 'event', event: { type: 'text_delta', delta: 'hi' } }),
      ...t.push({ kind: 'event', event: { type: 'tool_start', toolName: 'search', args: { q: 'hi' } } }),
      ...t.push({ kind: 'event', event: { type: 'tool_end', toolName: 'search', result: 'found', isError: false } }),
      ...t.push({ kind: 'event', event: { type: 'text_delta', delta: 'done' } }),
      ...t.push({ kind: 'event', event: { type: 'turn_end', costCu: 1, balanceCu: 2 } }),
      ...t.push({ kind: 'event', event: { type: 'agent_end', messageId: 'm', usage: null } }),
    ];
    expect(out).toEqual([
      { type: 'message', payload: { role: 'user', text: 'hi' } },
      { type: 'message', payload: { role: 'assistant', text: 'Echo: hi' } },
      { type: 'tool_use', payload: { toolName: 'search', args: { q: 'hi' }, result: 'found', isError: false } },
      { type: 'message', payload: { role: 'assistant', text: 'done' } },
    ]);
  });
});
