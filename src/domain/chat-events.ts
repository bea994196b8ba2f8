/** Codes a `ChatError` event can carry: the GraphQL error codes plus the stream-only SLOW_CONSUMER. */
export type ChatErrorCode =
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'USAGE_LIMIT'
  | 'NOT_FOUND'
  | 'SLOW_CONSUMER'
  | 'UNAUTHENTICATED';

export interface ChatUsage {
  costCu: number | null;
}

/** What a `chat` subscriber receives; `type` picks the GraphQL member of the ChatEvent union. */
export type ChatEvent =
  | { type: 'model_selection'; pool: string; reason: string }
  | { type: 'text_delta'; delta: string }
  | { type: 'tool_start'; toolName: string; args: unknown }
  | { type: 'tool_end'; toolName: string; result: string; isError: boolean }
  | { type: 'turn_end'; costCu: number | null; balanceCu: number | null }
  | { type: 'agent_end'; messageId: string; usage: ChatUsage | null }
  | { type: 'compaction'; reason: string }
  | { type: 'error'; code: ChatErrorCode; message: string; recoverable: boolean; retryAfter: number | null };

export type ChatErrorEvent = Extract<ChatEvent, { type: 'error' }>;

/** One Finn frame, after parsing: a client-facing event, a heartbeat reply, or nothing for clients. */
export type FrameOutcome = { kind: 'event'; event: ChatEvent } | { kind: 'pong' } | { kind: 'ignored'; frameType: string };

export function chatError(code: ChatErrorCode, message: string, recoverable: boolean, retryAfter: number | null = null): ChatErrorEvent {
  return { type: 'error', code, message, recoverable, retryAfter };
}

/** Finn sends CU amounts as decimal strings; accept numbers too. */
export function cuAmount(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

function record(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Maps one Finn → client frame (finn.md A.3) to a ChatEvent. Finn's error text is never forwarded:
 * clients get a safe message and a code. `messageId` names the answer when the frame is `agent_end`.
 */
export function mapFinnFrame(frame: unknown, messageId: () => string): FrameOutcome {
  const f = record(frame);
  const type = typeof f.type === 'string' ? f.type : '';
  const d = record(f.data);
  switch (type) {
    case 'text_delta':
      return { kind: 'event', event: { type: 'text_delta', delta: str(d.delta) } };
    case 'tool_start':
      return { kind: 'event', event: { type: 'tool_start', toolName: str(d.toolName), args: d.args ?? null } };
    case 'tool_end':
      return { kind: 'event', event: { type: 'tool_end', toolName: str(d.toolName), result: str(d.result), isError: d.isError === true } };
    case 'turn_end':
      return { kind: 'event', event: { type: 'turn_end', costCu: cuAmount(d.cost_cu), balanceCu: cuAmount(d.balance_cu) } };
    case 'agent_end':
      return { kind: 'event', event: { type: 'agent_end', messageId: messageId(), usage: null } };
    case 'compaction':
      return { kind: 'event', event: { type: 'compaction', reason: str(d.reason) } };
    case 'error':
      return { kind: 'event', event: chatError('UPSTREAM_ERROR', 'The agent reported an error', d.recoverable === true) };
    case 'billing_blocked':
      return { kind: 'event', event: chatError('USAGE_LIMIT', 'Usage budget exhausted', false) };
    case 'pong':
      return { kind: 'pong' };
    default:
      return { kind: 'ignored', frameType: type || 'unknown' };
  }
}

/** The events after which a turn is over for its subscriber. */
export function endsTurn(event: ChatEvent): boolean {
  return event.type === 'agent_end' || event.type === 'error';
}
