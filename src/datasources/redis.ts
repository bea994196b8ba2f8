import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { withTimeout } from './postgres/db.js';
import { createDependencyState } from './dependency-state.js';

export interface RedisHandle {
  readonly client: Redis;
  isUp(): boolean;
  /** PING latency; `pong` false when Redis answered something other than PONG. */
  ping(timeoutMs: number): Promise<{ latencyMs: number; pong: boolean }>;
  close(): Promise<void>;
}

/**
 * Commands fail fast while Redis is down (no offline queue) so callers can fall back; the client
 * keeps reconnecting in the background and never throws out of an event handler.
 */
export function createRedis(opts: { url: string; logger: Logger; keyPrefix?: string }): RedisHandle {
  const state = createDependencyState('redis', opts.logger);
  const client = new Redis(opts.url, {
    keyPrefix: opts.keyPrefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  });
  client.on('ready', () => state.markUp());
  client.on('error', (err: Error) => state.markDown(err.message));
  client.on('close', () => {
    if (state.isUp()) state.markDown('connection closed');
  });
  let closed: Promise<void> | null = null;

  return {
    client,
    isUp: () => state.isUp(),
    async ping(timeoutMs) {
      const start = performance.now();
      const reply = await withTimeout(client.ping(), timeoutMs, 'Redis PING');
      return { latencyMs: Math.round(performance.now() - start), pong: reply === 'PONG' };
    },
    close() {
      // quit() makes ioredis emit 'close', which is our doing here, not Redis going away.
      state.closing();
      closed ??= client
        .quit()
        .then(() => undefined)
        .catch(() => client.disconnect());
      return closed;
    },
  };
}
