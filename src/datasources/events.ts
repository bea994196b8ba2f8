import { setMaxListeners } from 'node:events';
import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import type { PubSub } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { NatsHandle } from './nats.js';

/**
 * Cross-instance events for GraphQL subscriptions. Payloads must be JSON-serialisable: with NATS
 * configured every instance (this one included) receives them through NATS.
 */
export type DixieEvents = {
  scheduleFired: [nftId: string, payload: Record<string, unknown>];
};

export type EventBus = PubSub<DixieEvents>;

/** yoga's constraint on a pubsub's topics (not exported by graphql-yoga). */
type PublishArgsByKey = Record<string, [] | [unknown] | [number | string, unknown]>;

const SUBJECT_PREFIX = 'dixie.events.';

interface Envelope {
  type: string;
  detail: unknown;
}

function isEnvelope(x: unknown): x is Envelope {
  return !!x && typeof x === 'object' && typeof (x as Envelope).type === 'string' && 'detail' in x;
}

/**
 * An EventTarget for subscription fan-out: one listener per open subscription, so Node's
 * "possible memory leak" warning at 11 listeners is noise here (subscriptions are bounded per
 * identity by the WebSocket guards, and each removes its listener when it ends).
 */
export function subscriptionEventTarget(): EventTarget {
  const target = new EventTarget();
  setMaxListeners(0, target);
  return target;
}

/** An EventTarget whose dispatch goes through NATS while it is connected, and stays local otherwise. */
function createNatsEventTarget(nats: NatsHandle, logger: Logger): EventTarget {
  const local = subscriptionEventTarget();
  const subs = new Map<string, { count: number; off: () => void }>();
  const subjectOf = (type: string) => SUBJECT_PREFIX + Buffer.from(type).toString('base64url');
  return {
    addEventListener(type, listener, options) {
      local.addEventListener(type, listener, options);
      const s = subs.get(type);
      if (s) {
        s.count++;
        return;
      }
      const off = nats.subscribe(subjectOf(type), (data) => {
        if (!isEnvelope(data) || data.type !== type) {
          logger.warn({ event: 'event_bus_bad_message', type }, 'ignored a malformed event');
          return;
        }
        local.dispatchEvent(new CustomEvent(type, { detail: data.detail }));
      });
      subs.set(type, { count: 1, off });
    },
    removeEventListener(type, listener, options) {
      local.removeEventListener(type, listener, options);
      const s = subs.get(type);
      if (s && --s.count === 0) {
        s.off();
        subs.delete(type);
      }
    },
    dispatchEvent(event) {
      const detail = (event as CustomEvent).detail;
      if (nats.isUp()) nats.publish(subjectOf(event.type), { type: event.type, detail });
      else local.dispatchEvent(new CustomEvent(event.type, { detail }));
      return true;
    },
  };
}

/** Events a subscriber may fall behind before the oldest are dropped (see createBoundedPubSub). */
export const SUBSCRIBER_BUFFER = 256;

/**
 * yoga's createPubSub with one difference: each subscription buffers at most `bufferSize` events
 * and then drops the oldest. yoga's has no buffer, and once a subscriber that stopped reading (a
 * stalled socket) was 1,024 events behind, the next publish threw RepeaterOverflowError inside the
 * event listener: an uncaught exception that ended the process. Topics and payloads are yoga's
 * (`routingKey` or `routingKey:id`), so instances on either version exchange events over NATS.
 */
export function createBoundedPubSub<T extends PublishArgsByKey>(target: EventTarget, bufferSize = SUBSCRIBER_BUFFER): PubSub<T> {
  const topicOf = (routingKey: string, id: unknown) => (id === undefined ? routingKey : `${routingKey}:${String(id)}`);
  const pubsub = {
    publish(routingKey: string, ...args: unknown[]) {
      target.dispatchEvent(new CustomEvent(topicOf(routingKey, args[1] === undefined ? undefined : args[0]), { detail: args[1] ?? args[0] ?? null }));
    },
    subscribe(routingKey: string, id?: unknown) {
      const topic = topicOf(routingKey, id);
      return new Repeater<unknown>((push, stop) => {
        const listener = (event: Event) => void push((event as CustomEvent).detail);
        target.addEventListener(topic, listener);
        void stop.then(() => target.removeEventListener(topic, listener));
      }, new SlidingBuffer(bufferSize));
    },
  };
  return pubsub as unknown as PubSub<T>;
}

export function createEventBus(opts: { nats: NatsHandle | null; logger: Logger }): EventBus {
  return createBoundedPubSub<DixieEvents>(opts.nats ? createNatsEventTarget(opts.nats, opts.logger) : subscriptionEventTarget());
}
