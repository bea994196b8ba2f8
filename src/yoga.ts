import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { createAccess } from './datasources/access.js';
import { credentialsFromHeaders, resolveViewer } from './datasources/identity.js';
import type { Datasources } from './datasources/index.js';
import type { Context, ServerContext } from './context.js';
import type { Viewer } from './domain/viewer.js';
import { rethrowWithHttpStatus } from './errors.js';
import { maskError, useCsrfHeader, useErrorStatus } from './graphql-plugins.js';
import { schema } from './schema/index.js';
import { createOperationTelemetry, useTelemetry } from './telemetry/graphql-plugin.js';
import { useNoIntrospection, useNoSuggestions, useQueryLimits } from './graphql-limits.js';
import { useMutationFieldBudget } from './mutation-budget.js';
import { useSubscriptions } from './subscriptions.js';
import { useTrustedDocuments } from './trusted-documents.js';

/**
 * Server context: HTTP passes the request facts, and may pass `seen` to learn the viewer the request
 * resolved to (app.ts counts an SSE stream under it); WebSocket passes the connection's viewer.
 */
export type YogaServerContext = ServerContext & { viewer?: Viewer; seen?: { viewer?: Viewer } };

export type DixieYoga = YogaServerInstance<YogaServerContext, Context>;

export function createDixieYoga(ds: Datasources): DixieYoga {
  const production = ds.config.nodeEnv === 'production';
  const telemetry = createOperationTelemetry({ tracer: ds.tracer, metrics: ds.metrics });
  const masking = maskError(ds.logger);
  return createYoga<YogaServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: production ? false : { title: 'Dixie', subscriptionsProtocol: 'WS' },
    cors: false,
    batching: false,
    // app.ts reads and bounds every body (102,400 bytes) before yoga sees it.
    maxRequestBodySize: false,
    logging: false,
    maskedErrors: { maskError: masking },
    plugins: [
      useCsrfHeader(),
      ...(production ? [useNoIntrospection(), useNoSuggestions()] : []),
      useErrorStatus(),
      ...useQueryLimits(),
      useTrustedDocuments(ds.config.trustedDocuments, ds.logger),
      useMutationFieldBudget(),
      useTelemetry(telemetry),
      // Last: it ends the onSubscribe chain (see subscriptions.ts).
      useSubscriptions({ telemetry, maskError: masking }),
    ],
    context: async ({ request, requestId, clientIp, viewer, seen }): Promise<Context> => {
      const finnCtx = { requestId, clientIp };
      // Agent credentials Finn cannot check now (UPSTREAM_UNAVAILABLE) fail the request: neither anonymous nor invalid.
      const v = viewer ?? (await resolveViewer(ds, credentialsFromHeaders((n) => request.headers.get(n)), finnCtx).catch(rethrowWithHttpStatus));
      if (seen) seen.viewer = v;
      const access = createAccess(v, ds, finnCtx);
      return {
        requestId,
        clientIp,
        viewer: v,
        access,
        ds,
        logger: ds.logger,
        finnCtx,
        memory: ds.memory.forRequest(access),
      };
    },
  });
}
