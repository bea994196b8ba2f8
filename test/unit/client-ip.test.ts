import { describe, expect, it } from 'vitest';
import { clientIpOf, forwardedFor } from '../../src/domain/client-ip.js';

const SOCKET = '10.0.0.9';

describe('clientIpOf (rest.md: client IP from the socket or the configured trusted proxy hop)', () => {
  it.each([
    ['0 hops ignores X-Forwarded-For', SOCKET, '203.0.113.5', 0, SOCKET],
    ['0 hops ignores a list too', SOCKET, '198.51.100.1, 203.0.113.5', 0, SOCKET],
    ['an IPv4-mapped socket address is unwrapped', `::ffff:${SOCKET}`, undefined, 0, SOCKET],
    ['no socket address', undefined, undefined, 0, 'unknown'],
    ['1 hop: the entry the proxy appended', SOCKET, '203.0.113.5', 1, '203.0.113.5'],
    ['1 hop: entries the client wrote before it are not trusted', SOCKET, '6.6.6.6, 7.7.7.7, 203.0.113.5', 1, '203.0.113.5'],
    ['1 hop: repeated headers are one list', SOCKET, ['6.6.6.6', '203.0.113.5'], 1, '203.0.113.5'],
    ['1 hop: spaces around entries and empty entries', SOCKET, ' 6.6.6.6 ,, 203.0.113.5 ', 1, '203.0.113.5'],
    ['1 hop: an IPv4-mapped entry is unwrapped', SOCKET, '::ffff:203.0.113.5', 1, '203.0.113.5'],
    ['1 hop: an IPv6 entry', SOCKET, '6.6.6.6, 2001:db8::1', 1, '2001:db8::1'],
    ['1 hop without the header: the socket', SOCKET, undefined, 1, SOCKET],
    ['1 hop with an empty header: the socket', SOCKET, '', 1, SOCKET],
    ['1 hop with only separators: the socket', SOCKET, ' , ,', 1, SOCKET],
    ['2 hops: the entry the outer proxy appended', SOCKET, '6.6.6.6, 203.0.113.5, 198.51.100.7', 2, '203.0.113.5'],
    ['2 hops, a list shorter than the hops: its first entry, written by a trusted proxy', SOCKET, '203.0.113.5', 2, '203.0.113.5'],
  ] as const)('%s', (_case, socket, xff, hops, expected) => {
    expect(clientIpOf(socket, xff as string | string[] | undefined, hops)).toBe(expected);
  });
});

describe('forwardedFor (finn.md: X-Forwarded-For only when the IP is known)', () => {
  it.each([
    ['a known address', '203.0.113.5', '203.0.113.5'],
    ['an IPv6 address', '2001:db8::1', '2001:db8::1'],
    ['no socket address', clientIpOf(undefined, undefined, 0), undefined],
    ['a trusted proxy that did not know it', clientIpOf(SOCKET, 'unknown', 1), undefined],
    ['no IP at all', undefined, undefined],
    ['an empty IP', '', undefined],
  ] as const)('%s', (_case, ip, expected) => {
    expect(forwardedFor(ip)).toBe(expected);
  });
});
