import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/datasources/events.js';
import { createLogger } from '../../src/logger.js';
import { guardEach } from '../../src/subscription-guard.js';

const bus = () => createEventBus({ nats: null, logger: createLogger('error') });

describe('guardEach', () => {
  it('passes events while allowed, then returns the source and ends with the denial', async () => {
    const events = bus();
    let allowed = true;
    const it = guardEach(events.subscribe('scheduleFired', 'nft-1')[Symbol.asyncIterator](), async () => allowed, () => new Error('no longer yours'));
    const first = it.next();
    await nextTurn();
    events.publish('scheduleFired', 'nft-1', { n: 1 });
    expect(await first).toEqual({ done: false, value: { n: 1 } });
    allowed = false;
    const second = it.next();
    await nextTurn();
    events.publish('scheduleFired', 'nft-1', { n: 2 });
    await expect(second).rejects.toThrow('no longer yours');
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('frees the source at once when the client leaves while no event is pending', async () => {
    const events = bus();
    const it = guardEach(events.subscribe('scheduleFired', 'nft-1')[Symbol.asyncIterator](), async () => true, () => new Error('denied'));
    const pending = it.next();
    await nextTurn();
    await it.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
  });
});
