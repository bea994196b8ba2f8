import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { createControl, type SimControl } from './control.js';
import { handleRequest, isControlPath, logRequest } from './dispatch.js';
import { sendFinnError } from './http-util.js';
import { DEFAULT_OPTIONS, bump, createSimState, shutdownState } from './state.js';
import type { SimOptions } from './types.js';
import { createWsStream } from './ws-stream.js';

export type { SimControl, SimStats } from './control.js';
export { UpgradeRejected, openFinnSocket, type FinnSocket } from './client.js';
export type { FireCronOptions } from './cron.js';
export { signCallback } from './cron.js';
export type { NftInput } from './fixtures.js';
export { splitDeltas } from './agent-run.js';
export { SECRET_SYSTEM_PROMPT } from './http-routes.js';
export type * from './types.js';

export interface FinnSim {
  /** http://127.0.0.1:<port> */
  url: string;
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  port: number;
  control: SimControl;
  /** Closes every socket and the server; leaves no timers behind. */
  close(): Promise<void>;
}

/** A control request line, e.g. `POST /__sim/faults HTTP/1.1`. */
function isControlRequest(firstChunk: Buffer): boolean {
  const line = firstChunk.toString('latin1', 0, Math.min(firstChunk.length, 512));
  const target = /^[A-Z]+ (\S+) HTTP\//.exec(line)?.[1] ?? '';
  return isControlPath(target.split('?')[0] ?? '');
}

export async function startFinnSim(opts: Partial<SimOptions> = {}): Promise<FinnSim> {
  const state = createSimState({ ...DEFAULT_OPTIONS, ...opts, stream: { ...opts.stream } });
  const ws = createWsStream(state);
  const http = createHttpServer();
  const sockets = new Set<Socket>();
  const busy = new Map<Socket, number>();
  const upgraded = new WeakSet<Socket>();

  // Keep-alive sockets would otherwise keep answering once refusal starts.
  const dropIdleSockets = (): void => {
    for (const socket of sockets) if (!upgraded.has(socket) && !busy.get(socket)) socket.destroy();
  };
  const control = createControl(state, ws, dropIdleSockets);
  const deps = { state, control, sinkFor: ws.sinkFor };

  http.on('request', (req, res) => {
    const socket = req.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.on('close', () => busy.set(socket, (busy.get(socket) ?? 1) - 1));
    handleRequest(deps, req, res).catch(() => sendFinnError(res, 500, 'Internal error', 'INTERNAL_ERROR'));
  });
  http.on('upgrade', (req, socket: Socket, head: Buffer) => {
    upgraded.add(socket);
    if (state.faults.refuseConnections) {
      bump(state, 'fault.refused');
      socket.destroy();
      return;
    }
    const query = new URL(req.url ?? '/', 'http://finn-sim').search;
    ws.handleUpgrade(req, socket, head, (match) => logRequest(state, req, match, query)).catch(() => socket.destroy());
  });
  http.on('clientError', (_err, socket) => socket.destroy());

  // Refusal happens per TCP connection, but the /__sim API must stay reachable: peek at the request line.
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      busy.delete(socket);
    });
    socket.on('error', () => undefined);
    if (!state.faults.refuseConnections) {
      http.emit('connection', socket);
      return;
    }
    socket.once('data', (chunk: Buffer) => {
      if (!isControlRequest(chunk)) {
        bump(state, 'fault.refused');
        socket.destroy();
        return;
      }
      socket.pause();
      socket.unshift(chunk);
      http.emit('connection', socket);
      socket.resume();
    });
  });

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(state.options.port, state.options.host, () => resolve());
  });
  const { port } = front.address() as AddressInfo;
  const host = state.options.host.includes(':') ? `[${state.options.host}]` : state.options.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    port,
    control,
    close: () => {
      closing ??= (async () => {
        shutdownState(state);
        await ws.close();
        const stopped = new Promise<void>((resolve) => front.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await stopped;
      })();
      return closing;
    },
  };
}
