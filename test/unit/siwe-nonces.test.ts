import { describe, expect, it } from 'vitest';
import { createNonceStore } from '../../src/datasources/siwe-nonces.js';

describe('in-process SIWE nonces (no Redis)', () => {
  it('redeem once, and stay bounded: past the cap the oldest nonce goes first', async () => {
    const store = createNonceStore({ redis: null, maxLive: 3 });
    const issued = [];
    for (let i = 0; i < 4; i++) issued.push((await store.issue()).nonce);
    expect(await store.consume(issued[0]!)).toBe(false);
    expect(await store.consume(issued[3]!)).toBe(true);
    expect(await store.consume(issued[3]!)).toBe(false);
    expect(await store.consume(issued[1]!)).toBe(true);
  });

  it('never redeem an expired nonce, and drop the expired ones as new ones are issued', async () => {
    const store = createNonceStore({ redis: null, ttlMs: 0, maxLive: 2 });
    const { nonce } = await store.issue();
    expect(await store.consume(nonce)).toBe(false);
  });
});
