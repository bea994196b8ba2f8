import { dixieError } from '../errors.js';

export interface AgentQueryInput {
  query: string;
  maxTokens?: number | null;
  knowledgeDomain?: string | null;
}

export const AGENT_QUERY_LIMITS = { queryChars: 10_000, maxTokens: 4096, knowledgeDomainChars: 100 } as const;

const bad = (field: string, message: string) => dixieError('BAD_USER_INPUT', message, { field });

/** Validates the input (BAD_USER_INPUT naming the field) and returns the prompt sent to Finn. */
export function agentQueryPrompt(input: AgentQueryInput): string {
  const query = input.query.trim();
  if (query === '') throw bad('query', 'The query must not be empty');
  if (input.query.length > AGENT_QUERY_LIMITS.queryChars) throw bad('query', `The query exceeds ${AGENT_QUERY_LIMITS.queryChars} characters`);
  const max = input.maxTokens;
  if (max != null && (!Number.isInteger(max) || max < 1 || max > AGENT_QUERY_LIMITS.maxTokens)) {
    throw bad('maxTokens', `maxTokens must be between 1 and ${AGENT_QUERY_LIMITS.maxTokens}`);
  }
  const domain = input.knowledgeDomain?.trim() ?? '';
  if ((input.knowledgeDomain?.length ?? 0) > AGENT_QUERY_LIMITS.knowledgeDomainChars) {
    throw bad('knowledgeDomain', `knowledgeDomain exceeds ${AGENT_QUERY_LIMITS.knowledgeDomainChars} characters`);
  }
  // Finn's message call takes only text: the domain travels as a preamble.
  return domain ? `[knowledge domain: ${domain}]\n${query}` : query;
}

const SOURCE_ID = /^[A-Za-z0-9_:./-]{1,128}$/;

export function assertVote(sourceId: string, priority: number): void {
  if (!SOURCE_ID.test(sourceId)) throw bad('sourceId', 'Invalid knowledge source id');
  if (!Number.isInteger(priority) || priority < 1 || priority > 5) throw bad('priority', 'priority must be an integer from 1 to 5');
}
