import net from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'hang';

export interface TcpProxy {
  port: number;
  /** 'refuse' drops every connection; 'hang' accepts and forwards nothing. */
  setMode(mode: ProxyMode): void;
  /** Hung connections whose client has sent bytes that were never forwarded: a query provably stuck here. */
  stuck(): number;
  /**
   * Holds back the server's reply on the connection whose client next sends `marker` (e.g. a bit
   * of SQL). Resolves once the reply has arrived here, so the statement has run, with the function
   * that lets it through: the client sees a read made before whatever the test does meanwhile.
   * With `after`, the next `marker` of the connection that sent `after`: the COMMIT of one transaction.
   */
  holdReplyTo(marker: string, opts?: { after?: string }): Promise<() => void>;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket | null;
  /** Server bytes held back, and who waits for the first of them. */
  held: { chunks: Buffer[]; arrived: () => void } | null;
  /** Hung: what the client sends is counted and swallowed, nothing is answered. */
  hung: boolean;
  swallowedBytes: number;
}

/** A loopback TCP proxy used to make PostgreSQL or Redis unreachable or hang, without touching them. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  const pairs = new Set<Pair>();
  let holds: Array<{ marker: string; after?: string; armed?: Pair; arrived: () => void; pair?: Pair }> = [];
  const server = net.createServer((client) => {
    if (mode === 'refuse') return client.destroy();
    const pair: Pair = { client, upstream: null, held: null, hung: mode === 'hang', swallowedBytes: 0 };
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => {
      pair.upstream?.destroy();
      pairs.delete(pair);
    });
    client.on('data', (chunk: Buffer) => {
      if (pair.hung || !pair.upstream) {
        pair.swallowedBytes += chunk.length;
        return;
      }
      pair.upstream.write(chunk);
      const hold = holds.find((h) => (!h.after || h.armed === pair) && chunk.includes(h.marker));
      for (const h of holds) if (h.after && !h.armed && chunk.includes(h.after)) h.armed = pair;
      if (!hold || pair.held) return;
      holds = holds.filter((h) => h !== hold);
      hold.pair = pair;
      pair.held = { chunks: [], arrived: hold.arrived };
    });
    if (pair.hung) return;
    const upstream = net.connect(targetPort, targetHost);
    pair.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.held) return void client.write(chunk);
      pair.held.chunks.push(chunk);
      pair.held.arrived();
    });
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
          p.hung = true;
          p.upstream.pause();
        }
      }
    },
    stuck: () => [...pairs].filter((p) => p.hung && p.swallowedBytes > 0).length,
    holdReplyTo(marker, opts = {}) {
      return new Promise((resolve) => {
        const hold: (typeof holds)[number] = {
          marker,
          after: opts.after,
          arrived: () =>
            resolve(() => {
              const pair = hold.pair!;
              const chunks = pair.held?.chunks ?? [];
              pair.held = null;
              for (const c of chunks) pair.client.write(c);
            }),
        };
        holds.push(hold);
      });
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
