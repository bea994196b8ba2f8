import type { Context } from '../context.js';
import type { FinnSessionView } from '../datasources/chat.js';
import type { ChatSessionRecord } from '../datasources/postgres/chat-session-repo.js';
import type { ChatEvent } from '../domain/chat-events.js';
import { builder } from './builder.js';

/** A session as one request sees it; Finn's counters are fetched at most once, and only when asked for. */
export interface ChatSessionView {
  record: ChatSessionRecord;
  finn(): Promise<FinnSessionView | null>;
}

/**
 * Finn's view of each session, once per request whatever the aliases: fifteen aliased
 * `chatSessions { isStreaming }` would otherwise ask Finn fifteen times per session.
 */
const finnViews = new WeakMap<Context, Map<string, Promise<FinnSessionView | null>>>();

export function chatSessionView(record: ChatSessionRecord, ctx: Context): ChatSessionView {
  return {
    record,
    finn: () => {
      let views = finnViews.get(ctx);
      if (!views) finnViews.set(ctx, (views = new Map()));
      let view = views.get(record.id);
      if (!view) views.set(record.id, (view = ctx.ds.chat.finnView(record.id, ctx.finnCtx)));
      return view;
    },
  };
}

export const ChatSession = builder.objectRef<ChatSessionView>('ChatSession').implement({
  description: "A Finn session owned by the viewer. Finn's raw session state is never exposed.",
  fields: (t) => ({
    id: t.id({ resolve: (s) => s.record.id }),
    nftId: t.id({ nullable: true, resolve: (s) => s.record.nftId }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.record.createdAt }),
    isStreaming: t.boolean({ description: 'false once Finn has evicted the session', resolve: async (s) => (await s.finn())?.isStreaming ?? false }),
    messageCount: t.int({ description: '0 once Finn has evicted the session', resolve: async (s) => (await s.finn())?.messageCount ?? 0 }),
  }),
});

export interface ToolCallShape {
  name: string;
  args: unknown;
  result: unknown;
}

export const ChatToolCall = builder.objectRef<ToolCallShape>('ChatToolCall').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    args: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.args ?? null }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (c) => c.result ?? null }),
  }),
});

export const ChatReply = builder.objectRef<{ text: string; toolCalls: ToolCallShape[] }>('ChatReply').implement({
  fields: (t) => ({
    text: t.exposeString('text'),
    toolCalls: t.field({ type: [ChatToolCall], resolve: (r) => r.toolCalls }),
  }),
});

type Of<T extends ChatEvent['type']> = Extract<ChatEvent, { type: T }>;

export const ChatErrorCodeEnum = builder.enumType('ChatErrorCode', {
  values: ['UPSTREAM_ERROR', 'UPSTREAM_UNAVAILABLE', 'RATE_LIMITED', 'USAGE_LIMIT', 'NOT_FOUND', 'SLOW_CONSUMER', 'UNAUTHENTICATED'] as const,
});

const ChatModelSelection = builder.objectRef<Of<'model_selection'>>('ChatModelSelection').implement({
  description: 'Sent by Dixie before the first delta: the model pool of the viewer’s conviction tier.',
  fields: (t) => ({ pool: t.exposeString('pool'), reason: t.exposeString('reason') }),
});
const ChatTextDelta = builder.objectRef<Of<'text_delta'>>('ChatTextDelta').implement({
  fields: (t) => ({ delta: t.exposeString('delta') }),
});
const ChatToolStart = builder.objectRef<Of<'tool_start'>>('ChatToolStart').implement({
  fields: (t) => ({ toolName: t.exposeString('toolName'), args: t.field({ type: 'JSON', nullable: true, resolve: (e) => e.args }) }),
});
const ChatToolEnd = builder.objectRef<Of<'tool_end'>>('ChatToolEnd').implement({
  fields: (t) => ({ toolName: t.exposeString('toolName'), result: t.exposeString('result'), isError: t.exposeBoolean('isError') }),
});
const ChatTurnEnd = builder.objectRef<Of<'turn_end'>>('ChatTurnEnd').implement({
  fields: (t) => ({
    costCu: t.float({ nullable: true, resolve: (e) => e.costCu }),
    balanceCu: t.float({ nullable: true, resolve: (e) => e.balanceCu }),
  }),
});
const ChatUsage = builder.objectRef<{ costCu: number | null }>('ChatUsage').implement({
  fields: (t) => ({ costCu: t.float({ nullable: true, description: 'Sum of the turn costs of this answer', resolve: (u) => u.costCu }) }),
});
const ChatAgentEnd = builder.objectRef<Of<'agent_end'>>('ChatAgentEnd').implement({
  fields: (t) => ({
    messageId: t.id({ description: 'Assigned by Dixie', resolve: (e) => e.messageId }),
    usage: t.field({ type: ChatUsage, nullable: true, resolve: (e) => e.usage }),
  }),
});
const ChatCompaction = builder.objectRef<Of<'compaction'>>('ChatCompaction').implement({
  fields: (t) => ({ reason: t.exposeString('reason') }),
});
const ChatError = builder.objectRef<Of<'error'>>('ChatError').implement({
  description: 'The last event of a stream that failed; the message is safe to show.',
  fields: (t) => ({
    message: t.exposeString('message'),
    recoverable: t.exposeBoolean('recoverable'),
    code: t.field({ type: ChatErrorCodeEnum, resolve: (e) => e.code }),
    retryAfter: t.int({ nullable: true, description: 'Seconds before retrying makes sense', resolve: (e) => e.retryAfter }),
  }),
});

const NAMES: Record<ChatEvent['type'], string> = {
  model_selection: 'ChatModelSelection',
  text_delta: 'ChatTextDelta',
  tool_start: 'ChatToolStart',
  tool_end: 'ChatToolEnd',
  turn_end: 'ChatTurnEnd',
  agent_end: 'ChatAgentEnd',
  compaction: 'ChatCompaction',
  error: 'ChatError',
};

export const ChatEventUnion = builder.unionType('ChatEvent', {
  description: "One event of a chat answer, in Finn's order; the stream completes after ChatAgentEnd or ChatError.",
  types: [ChatModelSelection, ChatTextDelta, ChatToolStart, ChatToolEnd, ChatTurnEnd, ChatAgentEnd, ChatCompaction, ChatError],
  resolveType: (e: ChatEvent) => NAMES[e.type],
});
