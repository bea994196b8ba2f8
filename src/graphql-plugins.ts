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

/**
 * Duck-typed on purpose: yoga and graphql-tools may load graphql's CommonJS build while Pothos loads
 * the ESM build, and `instanceof` fails across the two.
 */
function isGraphQLErrorLike(e: unknown): e is GraphQLError {
  return e instanceof Error && e.name === 'GraphQLError';
}

/** Unexpected errors are masked for clients and logged here, with the request id. */
export function maskError(logger: Logger) {
  return (error: unknown, message: string): Error => {
    let root: unknown = error;
    while (isGraphQLErrorLike(root) && root.originalError) root = root.originalError;
    if (isGraphQLErrorLike(root)) return error as Error;
    const located = isGraphQLErrorLike(error) ? error : null;
    logger.error(
      {
        event: 'unexpected_error',
        err: root instanceof Error ? { name: root.name, message: root.message, stack: root.stack } : String(root),
        path: located?.path,
      },
      'unexpected error',
    );
    return new GraphQLError(message, { path: located?.path, nodes: located?.nodes, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
