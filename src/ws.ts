import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { ExecutionArgs } from 'graphql';
import { credentialsFromHeaders, resolveViewer } from './datasources/identity.js';
import type { Datasources } from './datasources/index.js';
import type { Viewer } from './domain/viewer.js';
import { clientIpOf } from './domain/client-ip.js';
import type { DixieYoga } from './yoga.js';

interface ConnectionState {
  viewer: Viewer;
  clientIp: string;
  connectionId: string;
}

type WsExtra = Extra & { state?: ConnectionState };

export interface DixieWs {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  openSockets(): number;
  /** Closes every socket with 1001 (going away) and stops accepting. */
  close(): Promise<void>;
}

function payloadGetter(payload: unknown): (name: string) => string | null {
  const entries = payload && typeof payload === 'object' ? Object.entries(payload as Record<string, unknown>) : [];
  const lower = new Map(entries.map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? v : null]));
  return (name) => lower.get(name) ?? null;
}

/** GraphQL over WebSocket (graphql-transport-ws) sharing yoga's context pipeline. */
export function createDixieWs(yoga: DixieYoga, ds: Datasources): DixieWs {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const server = useServer<Record<string, unknown> | undefined, { state?: ConnectionState }>(
    {
      onConnect: async (ctx) => {
        const extra = ctx.extra as WsExtra;
        const viewer = await resolveViewer(ds, credentialsFromHeaders(payloadGetter(ctx.connectionParams)));
        const clientIp = clientIpOf(extra.request.socket.remoteAddress, extra.request.headers['x-forwarded-for'], ds.config.trustProxyHops);
        extra.state = { viewer, clientIp, connectionId: randomUUID() };
        return true;
      },
      onSubscribe: async (ctx, _id, payload) => {
        const state = (ctx.extra as WsExtra).state;
        if (!state) return undefined;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          request: new Request('http://localhost/graphql', { method: 'POST' }),
          requestId: randomUUID(),
          clientIp: state.clientIp,
          viewer: state.viewer,
        });
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document: parse(payload.query),
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
    },
    wss,
  );

  let closing: Promise<void> | null = null;
  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => wss.emit('connection', ws, req));
    },
    openSockets: () => wss.clients.size,
    close() {
      closing ??= Promise.resolve(server.dispose()).catch(() => undefined);
      return closing;
    },
  };
}
