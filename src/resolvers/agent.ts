import { agentQueryPrompt, assertVote } from '../domain/agent-query.js';
import { actingWallet } from '../domain/viewer.js';
import { dixieError } from '../errors.js';
import { AgentInfo, AgentKnowledge, AgentQueryInput, AgentQueryResult, KnowledgePriority, OracleIdentity, Personality } from '../schema/agent.js';
import { builder } from '../schema/builder.js';

const CAPABILITIES = ['agent_query', 'chat', 'knowledge_metadata', 'knowledge_priority_vote', 'oracle_identity', 'personality'];
const PRIORITIES_SHOWN = 50;

builder.objectType(AgentInfo, {
  description: 'What the Oracle agent offers: capabilities, its knowledge corpus and the community’s source priorities.',
  fields: (t) => ({
    capabilities: t.stringList({ resolve: () => CAPABILITIES }),
    knowledge: t.field({
      type: AgentKnowledge,
      resolve: async (_a, _args, ctx) => {
        // In turn: when forClient asks Finn, the corpus must be read from that answer, not the one before.
        const { metadata } = await ctx.ds.knowledge.forClient();
        const corpus = await ctx.ds.knowledge.corpus();
        return { domains: metadata?.domains ?? [], totalDocuments: metadata?.totalDocuments ?? 0, lastIndexed: corpus.last_indexed };
      },
    }),
    priorities: t.field({
      type: [KnowledgePriority],
      description: `Knowledge sources by average vote, at most ${PRIORITIES_SHOWN}; empty without a database`,
      resolve: async (_a, _args, ctx) => (await ctx.ds.knowledgeVotes?.priorities(PRIORITIES_SHOWN)) ?? [],
    }),
  }),
});

builder.queryField('agent', (t) => t.field({ type: AgentInfo, authScopes: { wallet: true, agent: true }, resolve: () => ({}) }));

builder.queryField('oracle', (t) =>
  t.field({ type: OracleIdentity, authScopes: { wallet: true, service: true }, resolve: (_r, _a, ctx) => ctx.ds.agent.oracle(ctx.finnCtx) }),
);

builder.queryField('personality', (t) =>
  t.field({
    type: Personality,
    nullable: true,
    description: 'null when Finn has no personality for the NFT',
    authScopes: { wallet: true },
    args: { nftId: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.ds.agent.personality(String(args.nftId), ctx.finnCtx),
  }),
);

builder.mutationField('agentQuery', (t) =>
  t.field({
    type: AgentQueryResult,
    description: 'A one-shot question to the Oracle through a new Finn session.',
    authScopes: { $all: { $any: { wallet: true, agent: true }, tier: 'ARCHITECT' } },
    args: { input: t.arg({ type: AgentQueryInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const prompt = agentQueryPrompt(input);
      const wallet = actingWallet(ctx.viewer);
      if (!wallet) throw dixieError('UNAUTHENTICATED', 'Authentication required');
      const session = await ctx.ds.chat.start(wallet, null, ctx.finnCtx);
      const reply = await ctx.ds.chat.send(session, wallet, prompt, ctx.finnCtx);
      return {
        response: reply.response,
        toolCalls: reply.toolCalls,
        sessionId: session.id,
        cost: { inputTokens: null, outputTokens: null, costMicroUsd: null },
      };
    },
  }),
);

builder.mutationField('voteKnowledgePriority', (t) =>
  t.field({
    type: KnowledgePriority,
    description: 'One vote per wallet per source (a new vote replaces the old one); priority 1..5; a wallet votes on at most 100 sources.',
    authScopes: { tier: 'PARTICIPANT' },
    args: { sourceId: t.arg.id({ required: true }), priority: t.arg.int({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const sourceId = String(args.sourceId);
      assertVote(sourceId, args.priority);
      const wallet = actingWallet(ctx.viewer);
      if (!wallet) throw dixieError('UNAUTHENTICATED', 'Authentication required');
      if (!ctx.ds.knowledgeVotes) throw dixieError('FEATURE_DISABLED', 'Knowledge votes need a database');
      return ctx.ds.knowledgeVotes.vote(sourceId, wallet, args.priority);
    },
  }),
);
