import { AckPolicy, nanos, RetentionPolicy, StorageType, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';

/** Delivery attempts of one message before the server gives up on it (logged as abandoned). */
export const MAX_DELIVER = 10;
const MAX_AGE_MS = 7 * 24 * 3600_000;
const DUPLICATE_WINDOW_MS = 2 * 60_000;
const ACK_WAIT_MS = 30_000;

/** Wait before redelivery n (1-based): 1 s, 2 s, 4 s … capped at 30 s. */
export const redeliveryDelayMs = (attempt: number): number => Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));

export const NOT_JSON: unique symbol = Symbol('not JSON');

/** A message's JSON body, or NOT_JSON (logged as nats_bad_message): core and JetStream messages alike. */
export function jsonOf(msg: { json(): unknown }, subject: string, logger: Logger): unknown {
  try {
    return msg.json();
  } catch {
    logger.warn({ event: 'nats_bad_message', subject }, 'ignored a non-JSON NATS message');
    return NOT_JSON;
  }
}

/** A stream name from a subject (stream names may not hold '.', '*', '>' or whitespace). */
export const streamNameFor = (subject: string): string => subject.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase();

export interface DurableHandler {
  /** Resolves once the message is applied (it is acknowledged); throws to have it delivered again. */
  /** `msgId`: the publisher's Nats-Msg-Id, else one naming this message (stable across its redeliveries). */
  (data: unknown, meta: { msgId: string; attempt: number }): Promise<void>;
}

/**
 * Consumes `subject` through a JetStream work-queue stream and one durable pull consumer shared by
 * every instance, acknowledging a message only after its handler succeeded: a message published
 * while no instance runs, or whose handler failed (PostgreSQL down), or that was in flight when an
 * instance died, is delivered again. Resolves null when the server has no JetStream (or the
 * subject already belongs to another stream, or the consumer cannot be read), logged, so the
 * caller can fall back to a plain subscription; never rejects.
 */
export async function consumeDurable(
  nc: NatsConnection,
  opts: { subject: string; durable: string; handler: DurableHandler; logger: Logger },
): Promise<(() => Promise<void>) | null> {
  const stream = streamNameFor(opts.subject);
  let messages: ConsumerMessages;
  let streamTag: string;
  try {
    const jsm = await nc.jetstreamManager({ timeout: 2_000 });
    let info = await jsm.streams.info(stream).catch(() => null);
    if (!info) {
      info = await jsm.streams.add({
        name: stream,
        subjects: [opts.subject],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        max_age: nanos(MAX_AGE_MS),
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      });
    }
    await jsm.consumers.add(stream, { durable_name: opts.durable, ack_policy: AckPolicy.Explicit, ack_wait: nanos(ACK_WAIT_MS), max_deliver: MAX_DELIVER });
    const consumer = await nc.jetstream().consumers.get(stream, opts.durable);
    messages = await consumer.consume({ max_messages: 64 });
    // A message published without Nats-Msg-Id is named by its place in this stream: the same on
    // every redelivery, and never one of an earlier stream of the same name (sequences restart).
    streamTag = `js:${stream}:${info.created}`;
  } catch (err) {
    opts.logger.warn({ event: LogEvent.natsJetstreamUnavailable, subject: opts.subject, err: err instanceof Error ? err.message : String(err) }, 'JetStream unavailable: plain subscription, at most once');
    return null;
  }
  const done = (async () => {
    for await (const m of messages) await deliver(m, streamTag, opts);
  })();
  return async () => {
    await messages.close().catch(() => undefined);
    await done.catch(() => undefined);
  };
}

async function deliver(m: JsMsg, streamTag: string, opts: { subject: string; handler: DurableHandler; logger: Logger }): Promise<void> {
  const attempt = m.info.redeliveryCount;
  const data = jsonOf(m, opts.subject, opts.logger);
  if (data === NOT_JSON) return m.term();
  try {
    await opts.handler(data, { msgId: m.headers?.get('Nats-Msg-Id') || `${streamTag}:${m.seq}`, attempt });
    m.ack();
  } catch (err) {
    const fields = { subject: opts.subject, attempt, err: err instanceof Error ? err.message : String(err) };
    if (attempt >= MAX_DELIVER) {
      opts.logger.error({ event: LogEvent.natsMessageAbandoned, ...fields }, 'NATS message failed on its last delivery');
      return m.term();
    }
    opts.logger.warn({ event: 'nats_message_retry', ...fields }, 'NATS message failed; it will be delivered again');
    m.nak(redeliveryDelayMs(attempt));
  }
}
