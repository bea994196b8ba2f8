import type { Tracer } from '@opentelemetry/api';
import type { FinnConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { DixieMetrics } from '../../telemetry/metrics.js';
import { createFinnBreaker, type FinnBreaker } from './breaker.js';
import { createFinnClient, type FinnClient } from './client.js';
import { createFinnHttp } from './http.js';

export type { FinnBreaker, CircuitStateName } from './breaker.js';
export type { FinnClient } from './client.js';
export type { FinnCallContext } from './http.js';

export interface Finn {
  client: FinnClient;
  breaker: FinnBreaker;
  config: FinnConfig;
}

/** Created once per process: the breaker is shared by every request. */
export function createFinn(deps: {
  config: FinnConfig;
  logger: Logger;
  propagate?: (headers: Record<string, string>) => void;
  tracer?: Tracer;
  metrics?: DixieMetrics;
}): Finn {
  const breaker = createFinnBreaker({
    failures: deps.config.circuitFailures,
    recoveryMs: deps.config.circuitRecoveryMs,
    logger: deps.logger,
  });
  const http = createFinnHttp({ ...deps, breaker });
  return { client: createFinnClient(http, { messageTimeoutMs: deps.config.messageTimeoutMs }), breaker, config: deps.config };
}
