import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { httpStatusFor, httpStatusOfError, type ErrorCode } from './errors.js';
import type { Logger } from './logger.js';

function statusOf(err: GraphQLError): number {
  const explicit = httpStatusOfError(err);
  if (explicit) return explicit;
  const code = err.extensions['code'];
  return typeof code === 'string' ? httpStatusFor(code as ErrorCode) : 500;
}

/**
 * graphql.md: the HTTP status follows the error code only when it is the only error and `data` is
 * null; any partial result is a 200.
 */
export function useErrorStatus(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone({ result, setResult }) {
        if (Symbol.asyncIterator in result) return;
        const r = result as ExecutionResult;
        if (r.errors?.length !== 1 || r.data != null) return;
        const [only] = r.errors;
        if (!only) return;
        setResult({ ...r, extensions: { ...r.extensions, http: { status: statusOf(only) } } });
      },
    }),
  };
}

/** Unexpected errors are masked for clients and logged here, with the request id. */
export function maskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const gql = error instanceof GraphQLError ? error : null;
    const original = gql?.originalError ?? error;
    if (original instanceof GraphQLError && typeof original.extensions['code'] === 'string') return gql ?? original;
    if (gql && !gql.originalError) return gql;
    logger.error(
      { event: 'unexpected_error', err: original instanceof Error ? { name: original.name, message: original.message, stack: original.stack } : String(original), path: gql?.path },
      'unexpected error',
    );
    return new GraphQLError(message, { path: gql?.path, nodes: gql?.nodes, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
