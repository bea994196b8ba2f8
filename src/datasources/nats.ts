import { randomUUID } from 'node:crypto';
import { connect, headers as natsHeaders, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from '../logger.js';
import { createDependencyState } from './dependency-state.js';
import { consumeDurable, jsonOf, NOT_JSON, type DurableHandler } from './nats-durable.js';

export interface NatsMessageMeta {
  subject: string;
  msgId: string | null;
}
export type NatsHandler = (data: unknown, meta: NatsMessageMeta) => void | Promise<void>;

export interface NatsHandle {
  isUp(): boolean;
  /** JSON publish; dropped with a warning while disconnected (events are best effort). */
  publish(subject: string, data: unknown, opts?: { msgId?: string }): void;
  /** Subscriptions made before the first connection are attached once it exists. */
  subscribe(subject: string, handler: NatsHandler, opts?: { queue?: string }): () => void;
  /**
   * At-least-once consumption shared by every instance (a JetStream work queue and one durable
   * consumer named `durable`): a message is acknowledged once `handler` resolves and delivered
   * again when it throws. Without JetStream it falls back to a queue subscription (at most once).
   */
  consume(subject: string, durable: string, handler: DurableHandler): () => void;
  /** Called when the connection is back after a time without one: what was published meanwhile never arrived. */
  onReconnect(listener: () => void): () => void;
  connection(): NatsConnection | null;
  drain(): Promise<void>;
}

interface Wanted {
  subject: string;
  handler: NatsHandler;
  queue?: string;
  sub?: Subscription;
}

interface Durable {
  subject: string;
  durable: string;
  handler: DurableHandler;
  stop?: Promise<() => void | Promise<void>>;
}

const RETRY_MS = 2_000;

export function createNats(opts: { url: string; logger: Logger; subjectPrefix?: string }): NatsHandle {
  const prefix = opts.subjectPrefix ?? '';
  const state = createDependencyState('nats', opts.logger);
  const wanted = new Set<Wanted>();
  const durables = new Set<Durable>();
  let nc: NatsConnection | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;

  const attach = (conn: NatsConnection, w: Wanted) => {
    w.sub = conn.subscribe(prefix + w.subject, {
      queue: w.queue,
      callback: (err, msg) => {
        if (err) return;
        const data = jsonOf(msg, w.subject, opts.logger);
        if (data === NOT_JSON) return;
        const msgId = msg.headers?.get('Nats-Msg-Id') || null;
        Promise.resolve(w.handler(data, { subject: w.subject, msgId })).catch((e: unknown) =>
          opts.logger.error({ event: 'nats_handler_failed', subject: w.subject, err: String(e) }, 'NATS handler failed'),
        );
      },
    });
  };

  const attachDurable = (conn: NatsConnection, d: Durable) => {
    const fallback = () => {
      // Given up on, or shutting down, while JetStream was being asked: nothing to attach.
      if (stopped || conn.isClosed() || !durables.has(d)) return () => undefined;
      // No redelivery here (at most once), so a message without Nats-Msg-Id gets a name of its own.
      const w: Wanted = { subject: d.subject, queue: d.durable, handler: (data, meta) => d.handler(data, { msgId: meta.msgId ?? `core:${randomUUID()}`, attempt: 1 }) };
      attach(conn, w);
      return () => w.sub?.unsubscribe();
    };
    d.stop = consumeDurable(conn, { subject: prefix + d.subject, durable: d.durable, handler: d.handler, logger: opts.logger }).then((stop) => stop ?? fallback());
  };
  const stopDurable = async (d: Durable) => {
    const stop = await d.stop?.catch(() => undefined);
    d.stop = undefined;
    await Promise.resolve(stop?.()).catch(() => undefined);
  };

  // Messages sent while this instance was cut off are lost for it (core NATS): listeners catch up.
  const reconnectListeners = new Set<() => void>();
  let missed = false;
  const connected = () => {
    state.markUp();
    if (!missed) return;
    missed = false;
    for (const l of reconnectListeners) l();
  };
  const watch = async (conn: NatsConnection) => {
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') {
        missed = true;
        state.markDown('disconnected');
      }
      if (s.type === 'reconnect') connected();
    }
  };

  const tryConnect = async () => {
    if (stopped) return;
    try {
      const conn = await connect({
        servers: opts.url.split(',').map((s) => s.trim()),
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1_000,
        timeout: 2_000,
        name: 'dixie',
      });
      if (stopped) {
        await conn.close();
        return;
      }
      nc = conn;
      connected();
      for (const w of wanted) attach(conn, w);
      for (const d of durables) attachDurable(conn, d);
      void watch(conn);
      void conn.closed().then(() => {
        if (!stopped) state.markDown('closed');
      });
    } catch (err) {
      missed = true;
      state.markDown(err instanceof Error ? err.message : String(err));
      retry = setTimeout(() => void tryConnect(), RETRY_MS);
      retry.unref();
    }
  };
  void tryConnect();

  return {
    isUp: () => state.isUp() && nc !== null && !nc.isClosed(),
    publish(subject, data, pubOpts) {
      if (!nc || nc.isClosed()) {
        opts.logger.warn({ event: 'nats_publish_dropped', subject }, 'NATS not connected; event dropped');
        return;
      }
      const h = pubOpts?.msgId ? natsHeaders() : undefined;
      if (h && pubOpts?.msgId) h.set('Nats-Msg-Id', pubOpts.msgId);
      nc.publish(prefix + subject, JSON.stringify(data), h ? { headers: h } : undefined);
    },
    subscribe(subject, handler, subOpts) {
      const w: Wanted = { subject, handler, queue: subOpts?.queue };
      wanted.add(w);
      if (nc && !nc.isClosed()) attach(nc, w);
      return () => {
        wanted.delete(w);
        w.sub?.unsubscribe();
      };
    },
    consume(subject, durable, handler) {
      const d: Durable = { subject, durable, handler };
      durables.add(d);
      if (nc && !nc.isClosed()) attachDurable(nc, d);
      return () => {
        durables.delete(d);
        void stopDurable(d);
      };
    },
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    connection: () => nc,
    async drain() {
      stopped = true;
      state.closing();
      clearTimeout(retry);
      // Durable consumers first: a message being applied is acknowledged before the connection goes.
      await Promise.all([...durables].map(stopDurable));
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
    },
  };
}
