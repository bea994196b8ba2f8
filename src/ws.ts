import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Context as WsContext, SubscribePayload } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { GraphQLError, getOperationAST, type execute, type ExecutionArgs, type subscribe } from 'graphql';
import { credentialsFromHeaders, presentsAgent, resolveViewer } from './datasources/identity.js';
import type { Datasources } from './datasources/index.js';
import type { Viewer } from './domain/viewer.js';
import { clientIpOf } from './domain/client-ip.js';
import type { DixieYoga } from './yoga.js';
import { checkWsOperation, tooManySubscriptions, type SubscriptionCounter } from './ws-guards.js';
import { viewerRateIdentity } from './rest/rate-limit.js';
import { createSendCoalescer } from './ws-coalesce.js';
import { requestScope, singleHeader, type RequestScope } from './request-scope.js';
import { dixieError, errorCodeOf } from './errors.js';
import type { Deadline } from './deadline.js';
import { createWsDrain } from './ws-drain.js';

interface ConnectionState {
  viewer: Viewer;
  clientIp: string;
  connectionId: string;
  /** Rate and subscription-count identity of this connection. */
  identity: string;
  /** Ids of this connection's subscriptions counted against the per-identity cap. */
  counted: Set<string>;
  /** Ids of this connection's queries and mutations not answered yet: the shutdown waits for them. */
  answering: Set<string>;
}

type WsExtra = Extra & { state?: ConnectionState };

/** What onSubscribe hands graphql-ws's execute/subscribe: the operation's envelope and its request scope. */
interface WsRoot {
  execute: typeof execute;
  subscribe: typeof subscribe;
  scope: RequestScope;
}

/**
 * RFC 6455 "Try Again Later": the close for a connection_init whose credentials Finn could not
 * check (UPSTREAM_UNAVAILABLE, UPSTREAM_ERROR). Not 4403, which says the credentials are invalid;
 * graphql-ws clients retry 1013 with backoff. The reason is JSON: `{"code", "retryAfter"?}`.
 */
const CLOSE_TRY_AGAIN_LATER = 1013;
/** graphql-ws's "too many requests" close code (also its answer to a second connection_init). */
const CLOSE_TOO_MANY_REQUESTS = 4429;

export interface DixieWs {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  openSockets(): number;
  /** Subscriptions counted against the per-identity cap (all identities on this instance, SSE included). */
  countedSubscriptions(): number;
  /**
   * Refuses new operations, closes each socket with 1001 (going away) once its queries and mutations
   * are answered (at `by` at the latest; subscriptions just end), and stops accepting.
   */
  close(by: Deadline): Promise<void>;
}

/** An operation sent while the shutdown drains: the client retries it on another instance. */
function shuttingDown(): GraphQLError {
  return dixieError('UPSTREAM_UNAVAILABLE', 'The server is shutting down', { retryAfter: 1 });
}

function payloadGetter(payload: unknown): (name: string) => string | null {
  const entries = payload && typeof payload === 'object' ? Object.entries(payload as Record<string, unknown>) : [];
  const lower = new Map(entries.map(([k, v]) => [k.toLowerCase(), typeof v === 'string' ? v : null]));
  return (name) => lower.get(name) ?? null;
}

/** GraphQL over WebSocket (graphql-transport-ws) sharing yoga's context pipeline. */
// Yoga's envelope wants a Request; over WebSocket the viewer is already resolved per connection,
// so one shared placeholder serves every operation instead of allocating one per subscription.
const WS_REQUEST = new Request('http://localhost/graphql', { method: 'POST' });

/** `subscriptions`: the per-identity count, shared with the SSE subscriptions of app.ts. */
export function createDixieWs(yoga: DixieYoga, ds: Datasources, subscriptions: SubscriptionCounter): DixieWs {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const coalesceSends = createSendCoalescer();
  const drain = createWsDrain();
  const release = (state: ConnectionState | undefined, id: string) => {
    if (state?.counted.delete(id)) subscriptions.release(state.identity);
  };
  /** Checks and prepares one operation, inside its request scope: the execution args, or the errors that answer it. */
  async function prepare(ctx: WsContext<Record<string, unknown> | undefined, WsExtra>, id: string, payload: SubscribePayload, state: ConnectionState, scope: RequestScope): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const denied = await checkWsOperation(ds, state.viewer, state.clientIp);
    if (denied) return denied;
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      ...ctx,
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params: payload,
      request: WS_REQUEST,
      requestId: scope.requestId,
      clientIp: state.clientIp,
      viewer: state.viewer,
    });
    let document: ExecutionArgs['document'];
    try {
      document = parse(payload.query);
    } catch (err) {
      // A coded parse failure (e.g. QUERY_TOO_COMPLEX from the token limit) answers the operation instead of closing the socket.
      if (err instanceof GraphQLError) return [err];
      throw err;
    }
    const rootValue: WsRoot = { execute, subscribe, scope };
    const args: ExecutionArgs = {
      schema,
      operationName: payload.operationName,
      document,
      variableValues: payload.variables,
      contextValue: await contextFactory(),
      rootValue,
    };
    const errors = validate(args.schema, args.document);
    if (errors.length) return errors;
    if (getOperationAST(args.document, args.operationName)?.operation === 'subscription') {
      if (!subscriptions.tryAcquire(state.identity)) return [tooManySubscriptions()];
      state.counted.add(id);
    }
    return args;
  }
  const server = useServer<Record<string, unknown> | undefined, { state?: ConnectionState }>(
    {
      onConnect: async (ctx) => {
        const extra = ctx.extra as WsExtra;
        const clientIp = clientIpOf(extra.request.socket.remoteAddress, extra.request.headers['x-forwarded-for'], ds.config.trustProxyHops);
        const credentials = credentialsFromHeaders(payloadGetter(ctx.connectionParams));
        // Agent credentials cost a Finn call to check: like an HTTP request carrying them, the
        // connection spends its IP's budget first, so fresh signatures cannot flood Finn.
        if (presentsAgent(credentials)) {
          const verdict = await ds.rateLimiter.check(`ip:${clientIp}`);
          if (verdict && !verdict.allowed) {
            extra.socket.close(CLOSE_TOO_MANY_REQUESTS, JSON.stringify({ code: 'RATE_LIMITED', retryAfter: verdict.retryAfterS }));
            return false;
          }
        }
        let viewer: Viewer;
        try {
          viewer = await resolveViewer(ds, credentials, { clientIp });
        } catch (err) {
          const code = errorCodeOf(err);
          if (!code) throw err;
          const retryAfter = (err as GraphQLError).extensions['retryAfter'];
          extra.socket.close(CLOSE_TRY_AGAIN_LATER, JSON.stringify({ code, retryAfter }));
          // graphql-ws then closes with 4403, which ws ignores on a socket already closing.
          return false;
        }
        // Presented but invalid credentials: graphql-ws closes the socket with 4403.
        if (viewer.kind === 'anonymous' && viewer.invalidCredentials) return false;
        const identity = viewerRateIdentity(viewer, clientIp, ds.config.adminKey);
        extra.state = { viewer, clientIp, connectionId: randomUUID(), identity, counted: new Set(), answering: new Set() };
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const { state, socket } = ctx.extra as WsExtra;
        if (!state) return undefined;
        if (!drain.begin(socket)) return [shuttingDown()];
        let answering = false;
        try {
          // One request id per operation, as per HTTP request: every log line of it carries the id.
          const scope = { requestId: randomUUID(), traceparent: singleHeader(ctx.extra.request.headers.traceparent) };
          const prepared = await requestScope.run(scope, () => prepare(ctx, id, payload, state, scope));
          // Only a subscription that was let through is counted: anything else executing is a query or mutation.
          answering = !Array.isArray(prepared) && !state.counted.has(id);
          return prepared;
        } finally {
          // Answered queries and mutations stop counting in onComplete; the rest stops here.
          if (answering) state.answering.add(id);
          else drain.end(socket);
        }
      },
      // Called once the result has been sent (or dropped: the client completed it or left).
      onComplete: (ctx, id) => {
        const { state, socket } = ctx.extra as WsExtra;
        if (state?.answering.delete(id)) drain.end(socket);
        else release(state, id);
      },
      onClose: (ctx) => {
        const { state, socket } = ctx.extra as WsExtra;
        for (const id of [...(state?.counted ?? [])]) release(state, id);
        // Nobody is left to answer (as for an HTTP client that went away); nor is a count leaked
        // by an operation that failed before graphql-ws could complete it.
        for (const id of [...(state?.answering ?? [])]) {
          state?.answering.delete(id);
          drain.end(socket);
        }
      },
      // graphql-ws calls these outside onSubscribe's scope: they enter it again.
      execute: (args) => {
        const root = args.rootValue as WsRoot;
        return requestScope.run(root.scope, root.execute, args);
      },
      subscribe: (args) => {
        const root = args.rootValue as WsRoot;
        return requestScope.run(root.scope, root.subscribe, args);
      },
    },
    wss,
  );

  let closing: Promise<void> | null = null;
  return {
    handleUpgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        coalesceSends(ws, socket);
        wss.emit('connection', ws, req);
      });
    },
    openSockets: () => wss.clients.size,
    countedSubscriptions: () => subscriptions.total(),
    close(by) {
      closing ??= (async () => {
        await by.within(drain.drain(wss.clients));
        // Whatever is still in flight at `by` is cut with 1001 here.
        await Promise.resolve(server.dispose()).catch(() => undefined);
      })();
      return closing;
    },
  };
}
