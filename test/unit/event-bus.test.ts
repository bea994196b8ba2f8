import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/datasources/events.js';
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
