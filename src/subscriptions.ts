import { createSourceEventStream, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from './context.js';
import { dixieError } from './errors.js';
import { createSubscriptionCompiler, type CompiledQuery } from './graphql-jit.js';
import { codeVariableErrors } from './graphql-plugins.js';
import { requestScope, type RequestScope } from './request-scope.js';
import { subscriptionStream, type SubscriptionStreamOptions } from './subscription-stream.js';
import type { OperationTelemetry } from './telemetry/graphql-plugin.js';

/** yoga's message for masked errors, so that a subscription's masked errors read like a query's. */
const MASKED_MESSAGE = 'Unexpected error.';

type Opened = ExecutionResult | AsyncIterableIterator<ExecutionResult>;
type SubscribeFn = (args: ExecutionArgs) => Opened | Promise<Opened>;

// Built when a token expires, not per subscription: a GraphQLError captures a stack trace (~1.5 KB retained).
const tokenExpired = (): ExecutionResult => ({ errors: [dixieError('UNAUTHENTICATED', 'The session token expired')] });

const same = (r: ExecutionResult): ExecutionResult => r;

export interface SubscriptionsDeps {
  telemetry: OperationTelemetry;
  /** The masking yoga applies to queries (logs what it masks). */
  maskError: (error: unknown, message: string) => Error;
}

/**
 * Every subscription, WebSocket and SSE alike: set-up traced as the operation's span, events
 * executed by the compiled operation (graphql-jit.ts), unexpected errors masked, the open stream
 * counted, and a wallet's stream ended with UNAUTHENTICATED when its JWT expires — all in one
 * stream object (subscription-stream.ts) instead of a wrapper per concern.
 *
 * The plugin hands envelop the finished stream with `setResultAndStopExecution`, which also skips
 * the onSubscribe hooks of the plugins after it: yoga's own error masking (done here, with the same
 * function, for set-up errors, every event and stream failures) and its abort-error rule (which
 * only matters for errors thrown out of set-up; here they become a masked result). It must
 * therefore be the last plugin that hooks onSubscribe. Queries and mutations are untouched.
 */
export function useSubscriptions(deps: SubscriptionsDeps): Plugin {
  const compiledFor = createSubscriptionCompiler();
  const mask = (err: unknown): GraphQLError => deps.maskError(err, MASKED_MESSAGE) as GraphQLError;
  const mapErrors = (r: ExecutionResult): ExecutionResult => (r.errors?.length ? { ...r, errors: r.errors.map(mask) } : r);
  const failed = (err: unknown): ExecutionResult => ({ errors: [mask(err)] });

  function stream<T>(source: AsyncIterable<T>, execute: (event: T) => ExecutionResult | Promise<ExecutionResult>, ctx: Context): Opened {
    const expiry = ctx.viewer.kind === 'wallet' ? { expiresAt: ctx.viewer.tokenExpiresAt, expired: tokenExpired } : {};
    return subscriptionStream(source, { execute, ...inScope(requestScope.getStore()), onEnd: deps.telemetry.subscriptionOpened(), ...expiry });
  }

  /**
   * graphql-ws pulls events outside the operation's request scope. The paths that log (masking) enter
   * it again; the per-event path does not, so a chat delta pays nothing for it.
   */
  function inScope(scope: RequestScope | undefined): Pick<SubscriptionStreamOptions<unknown>, 'mapErrors' | 'failed'> {
    if (!scope) return { mapErrors, failed };
    return { mapErrors: (r) => requestScope.run(scope, mapErrors, r), failed: (err) => requestScope.run(scope, failed, err) };
  }

  async function open(args: ExecutionArgs, query: CompiledQuery | null, subscribeFn: SubscribeFn): Promise<Opened> {
    const ctx = args.contextValue as Context;
    if (query) {
      // graphql-js resolves the root field's arguments, auth scopes and `subscribe`; jit runs each event.
      const source = await createSourceEventStream(args);
      if (!isAsyncIterable(source)) return mapErrors(codeVariableErrors(source as ExecutionResult));
      return stream(source, (payload) => query.query(payload, ctx, args.variableValues), ctx);
    }
    const result = await subscribeFn(args);
    if (!isAsyncIterable(result)) return mapErrors(codeVariableErrors(result));
    return stream(result, same, ctx);
  }

  return {
    onSubscribe({ args, subscribeFn, setResultAndStopExecution }) {
      const op = deps.telemetry.operationOf(args.document, args.operationName);
      const query = compiledFor(args);
      return deps.telemetry
        .traced(op, () => open(args, query, subscribeFn as SubscribeFn))
        .catch(failed)
        .then((opened) => setResultAndStopExecution(opened));
    },
  };
}
