export type OverallStatus = 'healthy' | 'degraded' | 'unhealthy';
export type FinnStatus = 'healthy' | 'degraded' | 'unreachable';
export type CircuitState = 'CLOSED' | 'HALF_OPEN' | 'OPEN';

export interface FinnServiceHealth {
  status: FinnStatus;
  latency_ms: number | null;
  circuit_state: CircuitState;
  error?: string;
}

export interface InfraHealth {
  postgresql?: { status: 'healthy' | 'unreachable'; latency_ms: number | null; error?: string };
  redis?: { status: 'healthy' | 'degraded' | 'unreachable'; latency_ms: number | null; error?: string };
  nats?: { status: 'healthy' | 'unreachable'; error?: string };
}

export interface HealthReport {
  status: OverallStatus;
  version: string;
  uptime_seconds: number;
  services: {
    dixie: { status: 'healthy' };
    loa_finn: FinnServiceHealth;
    knowledge_corpus: { document_count: number; last_indexed: string | null };
  };
  infrastructure?: InfraHealth;
  reputation_service: { initialized: boolean; aggregate_count: number };
  governance: { governor_count: number; resource_types: string[]; health: 'healthy' | 'degraded' };
  timestamp: string;
}

export const SLOW_FINN_MS = 500;

/** loa_finn.status from the last probe and the live circuit state (rest.md). */
export function finnStatus(probe: { ok: boolean; latencyMs: number | null }, circuit: CircuitState): FinnStatus {
  if (circuit === 'OPEN') return 'unreachable';
  // HALF_OPEN means a trial call is deciding right now: the last (failed) probe is already stale.
  if (circuit === 'HALF_OPEN') return 'degraded';
  if (!probe.ok) return 'unreachable';
  return (probe.latencyMs ?? 0) > SLOW_FINN_MS ? 'degraded' : 'healthy';
}

/**
 * Unhealthy only when the circuit is OPEN: one failed probe with the circuit still closed is a
 * blip, reported as degraded, so that the alert on `unhealthy` means "agent routes answer 503".
 * NATS alone never changes the overall status (optional in staging).
 */
export function overallStatus(finn: FinnServiceHealth, infra: InfraHealth | undefined): OverallStatus {
  if (finn.circuit_state === 'OPEN') return 'unhealthy';
  if (finn.status !== 'healthy') return 'degraded';
  if (infra?.postgresql?.status === 'unreachable' || infra?.redis?.status === 'unreachable') return 'degraded';
  return 'healthy';
}
