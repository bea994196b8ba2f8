import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
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

export function createEventBus(opts: { nats: NatsHandle | null; logger: Logger }): EventBus {
  if (!opts.nats) return createPubSub<DixieEvents>({ eventTarget: subscriptionEventTarget() as never });
  return createPubSub<DixieEvents>({ eventTarget: createNatsEventTarget(opts.nats, opts.logger) as never });
}
