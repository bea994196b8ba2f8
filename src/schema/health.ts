import type { HealthReport } from '../domain/health.js';
import type { GovernorReport } from '../domain/governor.js';
import { builder } from './builder.js';

export const HealthStatus = builder.enumType('HealthStatus', { values: ['healthy', 'degraded', 'unhealthy'] as const });
export const ServiceStatus = builder.enumType('ServiceStatus', { values: ['healthy', 'degraded', 'unreachable'] as const });
export const CircuitState = builder.enumType('CircuitState', { values: ['CLOSED', 'HALF_OPEN', 'OPEN'] as const });

type Services = HealthReport['services'];
type Infra = NonNullable<HealthReport['infrastructure']>;

const FinnHealth = builder.objectRef<Services['loa_finn']>('FinnHealth').implement({
  fields: (t) => ({
    status: t.field({ type: ServiceStatus, resolve: (f) => f.status }),
    latencyMs: t.int({ nullable: true, resolve: (f) => f.latency_ms }),
    circuitState: t.field({ type: CircuitState, resolve: (f) => f.circuit_state }),
    error: t.string({ nullable: true, resolve: (f) => f.error ?? null }),
  }),
});

const KnowledgeCorpusHealth = builder.objectRef<Services['knowledge_corpus']>('KnowledgeCorpusHealth').implement({
  fields: (t) => ({
    documentCount: t.int({ resolve: (k) => k.document_count }),
    lastIndexed: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.last_indexed }),
  }),
});

const DependencyHealth = builder
  .objectRef<{ status: 'healthy' | 'degraded' | 'unreachable'; latency_ms?: number | null; error?: string }>('DependencyHealth')
  .implement({
    fields: (t) => ({
      status: t.field({ type: ServiceStatus, resolve: (d) => d.status }),
      latencyMs: t.int({ nullable: true, resolve: (d) => d.latency_ms ?? null }),
      error: t.string({ nullable: true, resolve: (d) => d.error ?? null }),
    }),
  });

const InfrastructureHealth = builder.objectRef<Infra>('InfrastructureHealth').implement({
  description: 'Only the backends that are configured are present.',
  fields: (t) => ({
    postgresql: t.field({ type: DependencyHealth, nullable: true, resolve: (i) => i.postgresql ?? null }),
    redis: t.field({ type: DependencyHealth, nullable: true, resolve: (i) => i.redis ?? null }),
    nats: t.field({ type: DependencyHealth, nullable: true, resolve: (i) => i.nats ?? null }),
  }),
});

const Services = builder.objectRef<Services>('HealthServices').implement({
  fields: (t) => ({
    dixie: t.field({ type: ServiceStatus, resolve: (s) => s.dixie.status }),
    loaFinn: t.field({ type: FinnHealth, resolve: (s) => s.loa_finn }),
    knowledgeCorpus: t.field({ type: KnowledgeCorpusHealth, resolve: (s) => s.knowledge_corpus }),
  }),
});

const ReputationServiceHealth = builder.objectRef<HealthReport['reputation_service']>('ReputationServiceHealth').implement({
  fields: (t) => ({
    initialized: t.exposeBoolean('initialized'),
    aggregateCount: t.int({ resolve: (r) => r.aggregate_count }),
  }),
});

const GovernanceSummary = builder.objectRef<HealthReport['governance']>('GovernanceSummary').implement({
  fields: (t) => ({
    governorCount: t.int({ resolve: (g) => g.governor_count }),
    resourceTypes: t.stringList({ resolve: (g) => g.resource_types }),
    health: t.field({ type: ServiceStatus, resolve: (g) => g.health }),
  }),
});

export const Health = builder.objectRef<HealthReport>('Health').implement({
  description: 'The same data as GET /api/health, typed.',
  fields: (t) => ({
    status: t.field({ type: HealthStatus, resolve: (h) => h.status }),
    version: t.exposeString('version'),
    uptimeSeconds: t.int({ resolve: (h) => h.uptime_seconds }),
    services: t.field({ type: Services, resolve: (h) => h.services }),
    infrastructure: t.field({ type: InfrastructureHealth, nullable: true, resolve: (h) => h.infrastructure ?? null }),
    reputationService: t.field({ type: ReputationServiceHealth, resolve: (h) => h.reputation_service }),
    governance: t.field({ type: GovernanceSummary, resolve: (h) => h.governance }),
    timestamp: t.field({ type: 'DateTime', resolve: (h) => h.timestamp }),
  }),
});

const GovernorHealthRef = builder.objectRef<NonNullable<GovernorReport['health']>>('GovernorHealth').implement({
  fields: (t) => ({
    status: t.field({ type: ServiceStatus, resolve: (g) => g.status }),
    totalItems: t.exposeInt('totalItems'),
    staleItems: t.exposeInt('staleItems'),
    version: t.exposeInt('version'),
  }),
});

const Governor = builder.objectRef<GovernorReport>('Governor').implement({
  fields: (t) => ({
    resourceType: t.exposeString('resourceType'),
    health: t.field({ type: GovernorHealthRef, nullable: true, resolve: (g) => g.health }),
  }),
});

export interface GovernanceReport {
  governors: GovernorReport[];
  timestamp: string;
}

export const Governance = builder.objectRef<GovernanceReport>('Governance').implement({
  fields: (t) => ({
    governors: t.field({ type: [Governor], resolve: (g) => g.governors }),
    totalResources: t.int({ resolve: (g) => g.governors.length }),
    degradedResources: t.int({ resolve: (g) => g.governors.filter((x) => x.health?.status === 'degraded').length }),
    timestamp: t.field({ type: 'DateTime', resolve: (g) => g.timestamp }),
  }),
});
