/** clientIpOf's answer when no address is known; rate limits still count such callers together. */
export const UNKNOWN_IP = 'unknown';

/**
 * The end user's IP: the socket address, or, behind `hops` trusted proxies (the ALB), the entry
 * the outermost trusted proxy appended to X-Forwarded-For. Entries a client wrote itself are never
 * trusted.
 */
export function clientIpOf(socketAddress: string | undefined, xff: string | string[] | undefined, hops: number): string {
  const socket = normalise(socketAddress ?? UNKNOWN_IP);
  if (hops <= 0 || !xff) return socket;
  const list = (Array.isArray(xff) ? xff.join(',') : xff)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const picked = list[list.length - hops] ?? list[0];
  return picked ? normalise(picked) : socket;
}

function normalise(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * The X-Forwarded-For to send Finn: the IP only when known (finn.md). Finn counts its per-IP
 * budget by that header, so "unknown" would make every such user share one. A trusted proxy may
 * write "unknown" itself (RFC 7239).
 */
export function forwardedFor(clientIp: string | null | undefined): string | undefined {
  return clientIp && clientIp !== UNKNOWN_IP ? clientIp : undefined;
}
