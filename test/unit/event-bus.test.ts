import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createEventBus, SUBSCRIBER_BUFFER } from '../../src/datasources/events.js';
import { createLogger } from '../../src/logger.js';

describe('createEventBus (in process)', () => {
  it('fans an event out to 50 subscribers without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const bus = createEventBus({ nats: null, logger: createLogger('error') });
      const iterators = Array.from({ length: 50 }, () => bus.subscribe('scheduleFired', 'nft-1')[Symbol.asyncIterator]());
      const pending = iterators.map((it) => it.next());
      await nextTurn();
      bus.publish('scheduleFired', 'nft-1', { n: 1 });
      const results = await Promise.all(pending);
      expect(results.map((r) => r.value)).toEqual(Array.from({ length: 50 }, () => ({ n: 1 })));
      await Promise.all(iterators.map((it) => it.return?.()));
      await nextTurn();
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('a subscriber that stops reading', () => {
  it('costs a bounded buffer of the newest events and never throws into the publisher', async () => {
    const bus = createEventBus({ nats: null, logger: createLogger('error') });
    const stalled = bus.subscribe('scheduleFired', 'nft-1')[Symbol.asyncIterator]();
    const first = stalled.next();
    await nextTurn();
    // yoga's own pubsub threw RepeaterOverflowError from the listener (a process crash) past 1,024.
    for (let n = 1; n <= 3_000; n++) bus.publish('scheduleFired', 'nft-1', { n });
    expect((await first).value).toEqual({ n: 1 });
    const rest: unknown[] = [];
    for (let i = 0; i < SUBSCRIBER_BUFFER; i++) rest.push((await stalled.next()).value);
    expect(rest[0]).toEqual({ n: 3_000 - SUBSCRIBER_BUFFER + 1 });
    expect(rest.at(-1)).toEqual({ n: 3_000 });
    await stalled.return?.();
  });
});
