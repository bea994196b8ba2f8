import type { ChatEvent } from './chat-events.js';

export const MEMORY_EVENT_TYPES = ['message', 'tool_use', 'seal', 'delete', 'policy_change', 'schedule_create', 'schedule_fire'] as const;
export type MemoryEventType = (typeof MEMORY_EVENT_TYPES)[number];

export type MessagePayload = { role: 'user' | 'assistant'; text: string };
export type ToolUsePayload = { toolName: string; args: unknown; result: string; isError: boolean };

export type ScheduleCreatePayload = {
  scheduleId: string;
  name: string | null;
  expression: string;
  cron: string;
  humanReadable: string;
  /** The owner's own words, like a chat prompt: sealed and erased with the schedule's conversation. Firings do not repeat it. */
  prompt: string;
  maxFires: number | null;
  firedBy: 'finn' | 'dixie' | null;
  /** ISO-8601 */
  nextFireAt: string | null;
};

export type ScheduleFirePayload = {
  scheduleId: string;
  name: string | null;
  cron: string;
  humanReadable: string;
  executionId: string;
  source: 'finn' | 'dixie';
  /** SUCCESS, FAILED or SKIPPED: only a finished execution is recorded. */
  status: string;
  /** ISO-8601; fireAt is the due time of a Dixie firing (null for Finn callbacks). */
  firedAt: string;
  fireAt: string | null;
  messageId: string | null;
  error: string | null;
};

/** What a schedule's memory events say about it (a structural subset of the stored schedule). */
export type ScheduleFacts = Omit<ScheduleCreatePayload, 'scheduleId' | 'nextFireAt'> & { id: string; nextFireAt: Date | null };

export type ExecutionFacts = Pick<ScheduleFirePayload, 'source' | 'status' | 'firedAt' | 'fireAt' | 'messageId' | 'error'> & { id: string };

export function scheduleCreateEvent(s: ScheduleFacts): NewMemoryEvent {
  const payload: ScheduleCreatePayload = {
    scheduleId: s.id,
    name: s.name,
    expression: s.expression,
    cron: s.cron,
    humanReadable: s.humanReadable,
    prompt: s.prompt,
    maxFires: s.maxFires,
    firedBy: s.firedBy,
    nextFireAt: s.nextFireAt?.toISOString() ?? null,
  };
  return { type: 'schedule_create', payload };
}

export function scheduleFireEvent(s: ScheduleFacts, e: ExecutionFacts): NewMemoryEvent {
  const payload: ScheduleFirePayload = {
    scheduleId: s.id,
    name: s.name,
    cron: s.cron,
    humanReadable: s.humanReadable,
    executionId: e.id,
    source: e.source,
    status: e.status,
    firedAt: e.firedAt,
    fireAt: e.fireAt,
    messageId: e.messageId,
    error: e.error,
  };
  return { type: 'schedule_fire', payload };
}

/** An event about to be appended (its id and time come from the database). */
export interface NewMemoryEvent {
  type: MemoryEventType;
  payload: Record<string, unknown>;
}

/** What a chat stream reports, reduced to what memory needs. */
export type ChatInput = { kind: 'prompt'; text: string } | { kind: 'event'; event: ChatEvent } | { kind: 'cut' };

/**
 * Turns one session's chat traffic into memory events. Assistant text is accumulated from deltas
 * and appended as one `message` per text segment: a segment ends at a tool call, at turn_end, at
 * agent_end, at an error or where the turn was cut off, so events keep the order in which the
 * answer was produced.
 */
export function createTurnAssembler() {
  let text = '';
  const tools = new Map<string, unknown[]>();

  const flushText = (out: NewMemoryEvent[]) => {
    if (text.trim() !== '') out.push({ type: 'message', payload: { role: 'assistant', text } satisfies MessagePayload });
    text = '';
  };

  return {
    push(input: ChatInput): NewMemoryEvent[] {
      const out: NewMemoryEvent[] = [];
      if (input.kind === 'cut') {
        flushText(out);
        tools.clear();
        return out;
      }
      if (input.kind === 'prompt') {
        flushText(out);
        tools.clear();
        out.push({ type: 'message', payload: { role: 'user', text: input.text } satisfies MessagePayload });
        return out;
      }
      const e = input.event;
      switch (e.type) {
        case 'text_delta':
          text += e.delta;
          break;
        case 'tool_start':
          flushText(out);
          tools.set(e.toolName, [...(tools.get(e.toolName) ?? []), e.args]);
          break;
        case 'tool_end': {
          flushText(out);
          const pending = tools.get(e.toolName) ?? [];
          const args = pending.shift() ?? null;
          const payload: ToolUsePayload = { toolName: e.toolName, args, result: e.result, isError: e.isError };
          out.push({ type: 'tool_use', payload });
          break;
        }
        case 'turn_end':
        case 'agent_end':
        case 'error':
          flushText(out);
          break;
        default:
          break;
      }
      return out;
    },
  };
}
