import type { ConversationRow, DeleteRecord, MemoryEventView, MemoryProjection, MemoryRole, Page, SealRecord } from '../datasources/memory.js';
import { MEMORY_EVENT_TYPES, type MemoryEventType } from '../domain/memory-events.js';
import { builder } from './builder.js';

/** The parent of Memory's fields: only built once the caller's read access is established. */
export interface MemoryParent {
  nftId: string;
  role: MemoryRole;
}

export const MemoryEventTypeEnum = builder.enumType('MemoryEventType', {
  values: Object.fromEntries(MEMORY_EVENT_TYPES.map((t) => [t.toUpperCase(), { value: t }])) as Record<Uppercase<MemoryEventType>, { value: MemoryEventType }>,
});

export const MemoryAccessPolicyEnum = builder.enumType('MemoryAccessPolicy', {
  description: 'What wallets other than the owner and delegates may see of an NFT memory.',
  values: { NONE: { value: 'none' as const }, READ_ONLY: { value: 'read_only' as const } },
});

const MemoryProjectionRef = builder.objectRef<MemoryProjection>('MemoryProjection').implement({
  description: 'Computed from the event log (sealed and erased payloads excluded) and cached.',
  fields: (t) => ({
    conversationCount: t.exposeInt('conversationCount', { description: 'Chat conversations not deleted' }),
    sealedConversationCount: t.exposeInt('sealedConversationCount'),
    lastInteraction: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.lastInteraction }),
    recentTopics: t.exposeStringList('recentTopics', { description: 'Top keywords of the last 50 messages' }),
    unresolvedQuestions: t.exposeStringList('unresolvedQuestions', { description: 'Last user questions with no answer after them, newest first' }),
    activeSummary: t.string({ nullable: true, resolve: (p) => p.activeSummary }),
  }),
});

const MemoryEventRef = builder.objectRef<MemoryEventView>('MemoryEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    nftId: t.exposeID('nftId'),
    conversationId: t.exposeID('conversationId', {
      description: 'The chat session id; the schedule id for schedule_create and schedule_fire; empty for NFT-level events (policy_change)',
    }),
    type: t.field({ type: MemoryEventTypeEnum, resolve: (e) => e.type }),
    payload: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'message: {role, text}; tool_use: {toolName, args, result, isError}; ' +
        'schedule_create: {scheduleId, name, expression, cron, humanReadable, prompt, maxFires, firedBy, nextFireAt}; ' +
        'schedule_fire (one per execution): {scheduleId, name, cron, humanReadable, executionId, source, status, firedAt, fireAt, messageId, error}. ' +
        'null when erased, or encrypted and the caller is not the owner.',
      resolve: (e) => e.payload,
    }),
    encrypted: t.exposeBoolean('encrypted', { description: 'Sealed: encrypted at rest' }),
    erased: t.exposeBoolean('erased', { description: 'The payload was erased by deleteConversation' }),
    actorWallet: t.string({ nullable: true, resolve: (e) => e.actorWallet }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
  }),
});

const MemoryConversationRef = builder.objectRef<ConversationRow>('MemoryConversation').implement({
  fields: (t) => ({
    id: t.exposeID('conversationId'),
    eventCount: t.exposeInt('eventCount'),
    startedAt: t.field({ type: 'DateTime', resolve: (c) => c.startedAt }),
    lastEventAt: t.field({ type: 'DateTime', resolve: (c) => c.lastEventAt }),
    sealed: t.boolean({ resolve: (c) => c.sealedAt !== null }),
    sealedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.sealedAt }),
    deleted: t.boolean({ resolve: (c) => c.deletedAt !== null }),
    deletedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.deletedAt }),
  }),
});

export const MemoryEventPage = builder.objectRef<Page<MemoryEventView>>('MemoryEventPage').implement({
  description: 'Newest first; pass nextCursor as `after` for the next page (null: no more).',
  fields: (t) => ({
    items: t.field({ type: [MemoryEventRef], resolve: (p) => p.items }),
    nextCursor: t.string({ nullable: true, resolve: (p) => p.nextCursor }),
  }),
});

export const MemoryConversationPage = builder.objectRef<Page<ConversationRow>>('MemoryConversationPage').implement({
  description: 'Newest first; pass nextCursor as `after` for the next page (null: no more).',
  fields: (t) => ({
    items: t.field({ type: [MemoryConversationRef], resolve: (p) => p.items }),
    nextCursor: t.string({ nullable: true, resolve: (p) => p.nextCursor }),
  }),
});

export const MemoryRef = builder.objectRef<MemoryParent>('Memory').implement({
  description: "An NFT's soul memory: owner everything, delegates and (by policy) others read; sealed payloads only for the owner.",
  fields: (t) => ({
    nftId: t.exposeID('nftId'),
    isOwner: t.boolean({ resolve: (m) => m.role === 'owner' }),
    projection: t.field({ type: MemoryProjectionRef, resolve: (m, _args, ctx) => ctx.memory.projection(m.nftId) }),
    events: t.field({
      type: MemoryEventPage,
      args: {
        first: t.arg.int({ required: false, description: 'Default and maximum DIXIE_MEMORY_MAX_EVENTS (clamped)' }),
        after: t.arg.string({ required: false }),
        conversationId: t.arg.id({ required: false }),
        types: t.arg({ type: [MemoryEventTypeEnum], required: false }),
      },
      resolve: (m, args, ctx) =>
        ctx.ds.memory.events(m.nftId, m.role, {
          first: args.first ?? null,
          after: args.after ?? null,
          conversationId: args.conversationId == null ? null : String(args.conversationId),
          types: args.types ?? null,
        }),
    }),
    conversations: t.field({
      type: MemoryConversationPage,
      description:
        "Chat conversations. A schedule's events form a conversation of their own, named by the schedule id: not listed here nor " +
        'counted by the projection, read through events(conversationId), sealed and deleted like a chat.',
      args: {
        first: t.arg.int({ required: false, description: 'Default and maximum DIXIE_MEMORY_MAX_EVENTS (clamped)' }),
        after: t.arg.string({ required: false }),
        includeSealed: t.arg.boolean({ required: false, defaultValue: true }),
      },
      resolve: (m, args, ctx) => ctx.ds.memory.conversations(m.nftId, { first: args.first ?? null, after: args.after ?? null, includeSealed: args.includeSealed ?? true }),
    }),
  }),
});

export const SealingPolicyInput = builder.inputType('SealingPolicyInput', {
  description: 'Recorded in the `seal` event.',
  fields: (t) => ({ reason: t.string({ required: false, description: 'At most 500 characters' }) }),
});

export const SealResultRef = builder.objectRef<SealRecord>('SealResult').implement({
  fields: (t) => ({
    conversationId: t.exposeID('conversationId'),
    sealedAt: t.field({ type: 'DateTime', resolve: (r) => r.sealedAt }),
    sealedEventCount: t.exposeInt('sealedEventCount', { description: 'Events encrypted by the first sealing' }),
    policy: t.field({ type: 'JSON', resolve: (r) => r.policy }),
  }),
});

export const DeleteConversationResultRef = builder.objectRef<DeleteRecord>('DeleteConversationResult').implement({
  fields: (t) => ({
    conversationId: t.exposeID('conversationId'),
    deletedAt: t.field({ type: 'DateTime', resolve: (r) => r.deletedAt }),
    erasedEventCount: t.exposeInt('erasedEventCount'),
  }),
});
