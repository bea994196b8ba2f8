import net from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'hang';

export interface TcpProxy {
  port: number;
  /** 'refuse' drops every connection; 'hang' accepts and forwards nothing. */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy used to make PostgreSQL or Redis unreachable or hang, without touching them. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket | null }>();
  const server = net.createServer((client) => {
    if (mode === 'refuse') return client.destroy();
    const pair: { client: net.Socket; upstream: net.Socket | null } = { client, upstream: null };
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    if (mode === 'hang') return;
    const upstream = net.connect(targetPort, targetHost);
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    setMode(next) {
      mode = next;
      for (const p of pairs) {
        if (next === 'refuse') {
          p.client.destroy();
          p.upstream?.destroy();
        } else if (next === 'hang' && p.upstream) {
          p.client.unpipe();
          p.upstream.unpipe();
          p.client.pause();
          p.upstream.pause();
        }
      }
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream?.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
