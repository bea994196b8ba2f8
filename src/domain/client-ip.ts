/**
 * The end user's IP: the socket address, or, behind `hops` trusted proxies (the ALB), the entry
 * the outermost trusted proxy appended to X-Forwarded-For. Entries a client wrote itself are never
 * trusted.
 */
export function clientIpOf(socketAddress: string | undefined, xff: string | string[] | undefined, hops: number): string {
  const socket = normalise(socketAddress ?? 'unknown');
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
