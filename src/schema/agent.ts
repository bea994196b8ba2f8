import type { OracleView, PersonalityEvolutionView, PersonalityView } from '../datasources/agent.js';
import type { KnowledgePriority as KnowledgePriorityRow } from '../datasources/postgres/knowledge-vote-repo.js';
import { builder } from './builder.js';
import { ChatToolCall, type ToolCallShape } from './chat.js';

/** Finn's timestamps are free text: expose only those that parse. */
const date = (v: string | null | undefined): string | null => (v && !Number.isNaN(Date.parse(v)) ? v : null);

export const AgentQueryInput = builder.inputType('AgentQueryInput', {
  fields: (t) => ({
    query: t.string({ required: true, description: 'At most 10,000 characters' }),
    maxTokens: t.int({ required: false, description: '1 to 4096' }),
    knowledgeDomain: t.string({ required: false, description: 'At most 100 characters' }),
  }),
});

export interface AgentQueryResultShape {
  response: string;
  toolCalls: ToolCallShape[];
  sessionId: string;
  cost: { inputTokens: number | null; outputTokens: number | null; costMicroUsd: number | null };
}

const AgentQueryCost = builder.objectRef<AgentQueryResultShape['cost']>('AgentQueryCost').implement({
  description: 'null where Finn does not report it',
  fields: (t) => ({
    inputTokens: t.int({ nullable: true, resolve: (c) => c.inputTokens }),
    outputTokens: t.int({ nullable: true, resolve: (c) => c.outputTokens }),
    costMicroUsd: t.int({ nullable: true, resolve: (c) => c.costMicroUsd }),
  }),
});

export const AgentQueryResult = builder.objectRef<AgentQueryResultShape>('AgentQueryResult').implement({
  fields: (t) => ({
    response: t.exposeString('response'),
    toolCalls: t.field({ type: [ChatToolCall], resolve: (r) => r.toolCalls }),
    sessionId: t.id({ resolve: (r) => r.sessionId }),
    cost: t.field({ type: AgentQueryCost, resolve: (r) => r.cost }),
  }),
});

export const KnowledgePriority = builder.objectRef<KnowledgePriorityRow>('KnowledgePriority').implement({
  fields: (t) => ({
    sourceId: t.id({ resolve: (p) => p.sourceId }),
    averagePriority: t.exposeFloat('averagePriority'),
    voteCount: t.exposeInt('voteCount'),
    lastVotedAt: t.field({ type: 'DateTime', resolve: (p) => p.lastVotedAt }),
  }),
});

const KnowledgeDomain = builder
  .objectRef<{ name: string; documentCount: number; lastUpdated?: string | null }>('KnowledgeDomain')
  .implement({
    fields: (t) => ({
      name: t.exposeString('name'),
      documentCount: t.int({ resolve: (d) => Math.trunc(d.documentCount) }),
      lastUpdated: t.field({ type: 'DateTime', nullable: true, resolve: (d) => date(d.lastUpdated) }),
    }),
  });

export interface AgentKnowledgeShape {
  domains: Array<{ name: string; documentCount: number; lastUpdated?: string | null }>;
  totalDocuments: number;
  lastIndexed: string | null;
}

export const AgentKnowledge = builder.objectRef<AgentKnowledgeShape>('AgentKnowledge').implement({
  fields: (t) => ({
    domains: t.field({ type: [KnowledgeDomain], resolve: (k) => k.domains }),
    totalDocuments: t.int({ resolve: (k) => Math.trunc(k.totalDocuments) }),
    lastIndexed: t.field({ type: 'DateTime', nullable: true, resolve: (k) => date(k.lastIndexed) }),
  }),
});

/** Resolved field by field (AgentInfo's fields live in resolvers/agent.ts). */
export const AgentInfo = builder.objectRef<Record<string, never>>('AgentInfo');

export const OracleIdentity = builder.objectRef<OracleView>('OracleIdentity').implement({
  fields: (t) => ({
    nftId: t.id({ resolve: (o) => o.nftId }),
    name: t.exposeString('name'),
    damp96Summary: t.field({ type: 'JSON', nullable: true, resolve: (o) => o.damp96Summary }),
    beauvoirHash: t.string({ nullable: true, resolve: (o) => o.beauvoirHash }),
  }),
});

const PersonalityEvolution = builder.objectRef<PersonalityEvolutionView>('PersonalityEvolution').implement({
  fields: (t) => ({
    version: t.exposeString('version'),
    timestamp: t.field({ type: 'DateTime', nullable: true, resolve: (e) => date(e.timestamp) }),
    changes: t.field({ type: 'JSON', resolve: (e) => e.changes }),
    trigger: t.string({ nullable: true, resolve: (e) => e.trigger }),
  }),
});

export const Personality = builder.objectRef<PersonalityView>('Personality').implement({
  fields: (t) => ({
    nftId: t.id({ resolve: (p) => p.nftId }),
    name: t.exposeString('name'),
    traits: t.exposeStringList('traits'),
    antiNarration: t.exposeStringList('antiNarration'),
    damp96Summary: t.field({ type: 'JSON', resolve: (p) => p.damp96Summary }),
    version: t.exposeString('version'),
    lastEvolved: t.field({ type: 'DateTime', nullable: true, resolve: (p) => date(p.lastEvolved) }),
    evolution: t.field({ type: [PersonalityEvolution], resolve: (p) => p.evolution }),
  }),
});
