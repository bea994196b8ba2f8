import type { AuditEntry, AuditPage, AutonomousMode } from '../datasources/autonomous.js';
import type { Capabilities } from '../domain/autonomous.js';
import { builder } from './builder.js';

const AutonomousCapabilities = builder.objectRef<Capabilities>('AutonomousCapabilities').implement({
  fields: (t) => ({
    chatInitiate: t.exposeBoolean('chatInitiate'),
    knowledgeSearch: t.exposeBoolean('knowledgeSearch'),
    scheduleManage: t.exposeBoolean('scheduleManage'),
    memoryWrite: t.exposeBoolean('memoryWrite'),
    toolExecute: t.exposeBoolean('toolExecute'),
    agentCommunicate: t.exposeBoolean('agentCommunicate'),
  }),
});

const AutonomousBudget = builder.objectRef<AutonomousMode>('AutonomousBudget').implement({
  description: 'Micro-USD (1e-6 USD), whole numbers.',
  fields: (t) => ({
    dailyLimitMicroUsd: t.float({ resolve: (m) => m.dailyLimitMicroUsd }),
    spentTodayMicroUsd: t.float({ resolve: (m) => m.spentTodayMicroUsd }),
  }),
});

const AutonomousAuditEntry = builder.objectRef<AuditEntry>('AutonomousAuditEntry').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    actorWallet: t.exposeString('actorWallet'),
    changedAt: t.field({ type: 'DateTime', resolve: (e) => e.changedAt }),
    before: t.field({ type: 'JSON', nullable: true, description: 'null for the first change', resolve: (e) => e.before }),
    after: t.field({ type: 'JSON', resolve: (e) => e.after }),
  }),
});

const AutonomousAuditPage = builder.objectRef<AuditPage>('AutonomousAuditPage').implement({
  description: 'Changes, newest first.',
  fields: (t) => ({
    nodes: t.field({ type: [AutonomousAuditEntry], resolve: (p) => p.nodes }),
    endCursor: t.string({ nullable: true, resolve: (p) => p.endCursor }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

export const AutonomousModeRef = builder.objectRef<AutonomousMode>('AutonomousMode').implement({
  fields: (t) => ({
    nftId: t.exposeID('nftId'),
    enabled: t.exposeBoolean('enabled'),
    ownerWallet: t.string({ nullable: true, description: 'null until the owner first configures it', resolve: (m) => m.ownerWallet }),
    delegatedWallets: t.exposeStringList('delegatedWallets'),
    capabilities: t.field({ type: AutonomousCapabilities, resolve: (m) => m.capabilities }),
    budget: t.field({ type: AutonomousBudget, resolve: (m) => m }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (m) => m.updatedAt }),
    audit: t.field({
      type: AutonomousAuditPage,
      description: 'Every change: who, when, before and after. The NFT owner only.',
      authScopes: (m) => ({ nftOwner: m.nftId }),
      args: {
        first: t.arg.int({ required: false, description: 'Default 20, at most 100 (clamped)' }),
        after: t.arg.string({ required: false }),
      },
      resolve: (m, args, ctx) => ctx.ds.autonomous.audit(m.nftId, args.first ?? 20, args.after ?? null),
    }),
  }),
});

const AutonomousCapabilitiesInput = builder.inputType('AutonomousCapabilitiesInput', {
  fields: (t) => ({
    chatInitiate: t.boolean({ required: false }),
    knowledgeSearch: t.boolean({ required: false }),
    scheduleManage: t.boolean({ required: false }),
    memoryWrite: t.boolean({ required: false }),
    toolExecute: t.boolean({ required: false }),
    agentCommunicate: t.boolean({ required: false }),
  }),
});

export const AutonomousPermissionsInput = builder.inputType('AutonomousPermissionsInput', {
  description: 'Omitted fields keep their value.',
  fields: (t) => ({
    enabled: t.boolean({ required: false }),
    delegatedWallets: t.stringList({ required: false, description: 'Replaces the list; EIP-55 checksummed on save' }),
    capabilities: t.field({ type: AutonomousCapabilitiesInput, required: false }),
    dailyLimitMicroUsd: t.float({ required: false }),
  }),
});
