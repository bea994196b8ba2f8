import { bump, type SimState } from './state.js';
import type { FinnFrame, SimSession, StreamConfig } from './types.js';

export interface ToolCall {
  name: string;
  args: unknown;
  result: string;
}

export interface RunSink {
  /** Delivers a frame to every WebSocket subscribed to the session. */
  send(frame: FinnFrame): void;
  /** Kills the subscribed sockets without a close frame (the drop fault). */
  drop(): void;
}

export type RunOutcome = 'completed' | 'aborted' | 'dropped' | 'errored' | 'closed';

export interface RunResult {
  outcome: RunOutcome;
  response: string;
  toolCalls: ToolCall[];
}

/** `Echo: <text>` split into `parts` non-empty, contiguous pieces. */
export function splitDeltas(full: string, parts: number): string[] {
  const n = Math.max(1, Math.min(parts, full.length));
  const out: string[] = [];
  for (let i = 0; i < n; i += 1) {
    out.push(full.slice(Math.floor((i * full.length) / n), Math.floor(((i + 1) * full.length) / n)));
  }
  return out;
}

export function toolResult(text: string): string {
  return `Found 3 documents about "${text}"`;
}

/** The deterministic frames of one prompt, before faults. CU amounts are strings, as Finn sends them. */
export function scriptFrames(text: string, stream: StreamConfig, balanceCu: number): FinnFrame[] {
  const frames: FinnFrame[] = splitDeltas(`Echo: ${text}`, stream.deltas)
    .map((delta) => ({ type: 'text_delta', data: { delta } }));
  if (stream.tools) {
    frames.push({ type: 'tool_start', data: { toolName: 'knowledge_search', args: { query: text } } });
    frames.push({ type: 'tool_end', data: { toolName: 'knowledge_search', result: toolResult(text), isError: false } });
  }
  frames.push(...stream.extraFrames);
  frames.push({ type: 'turn_end', data: { cost_cu: String(stream.costCu), balance_cu: String(balanceCu - stream.costCu) } });
  frames.push({ type: 'agent_end', data: {} });
  return frames;
}

function collect(frame: FinnFrame, result: RunResult): void {
  const data = frame.data ?? {};
  if (frame.type === 'text_delta' && typeof data.delta === 'string') result.response += data.delta;
  if (frame.type === 'tool_start') result.toolCalls.push({ name: String(data.toolName), args: data.args, result: '' });
  const last = result.toolCalls.at(-1);
  if (frame.type === 'tool_end' && last) last.result = String(data.result);
}

/** Plays one agent run on a session, frame by frame, applying the stream faults. */
export async function runAgent(state: SimState, session: SimSession, text: string, sink: RunSink): Promise<RunResult> {
  const stream = state.config.stream;
  const frames = scriptFrames(text, stream, state.config.balanceCu);
  const result: RunResult = { outcome: 'completed', response: '', toolCalls: [] };
  // Each frame waits on a plain timer that abort() clears and wakes (shutdown aborts every run).
  // Racing every frame's sleep against one long-lived `aborted` promise left a reaction on it per
  // frame until the run ended; and the shared `sleep()`, which tracks an entry per call in a Set for
  // shutdown, made every scavenge keep and promote ~4.5 MB at the chat benchmark's rate (10-20 ms
  // pauses; reproduced standalone: a Set churned by add/delete at thousands a second does it).
  let aborted = false;
  let wake: ((woke: 'aborted') => void) | null = null;
  let timer: NodeJS.Timeout | undefined;
  state.runs.set(session.id, {
    abort: () => {
      aborted = true;
      clearTimeout(timer);
      wake?.('aborted');
    },
  });
  session.isStreaming = true;
  session.messages.push({ role: 'user', content: text });
  bump(state, 'run.started');
  try {
    for (let index = 0; index < frames.length; index += 1) {
      const frame = frames[index]!;
      const woke = aborted || state.closed ? 'aborted' : await new Promise<'slept' | 'aborted'>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, stream.delayMs, 'slept');
      });
      wake = null;
      if (woke === 'aborted') {
        if (!state.closed) sink.send({ type: 'agent_end', data: {} });
        result.outcome = state.closed ? 'closed' : 'aborted';
        return result;
      }
      const { dropStreamAfter, errorFrame } = state.faults;
      if (dropStreamAfter !== null && index >= dropStreamAfter) {
        sink.drop();
        result.outcome = 'dropped';
        return result;
      }
      if (errorFrame !== null && index >= errorFrame.afterFrames) {
        sink.send({ type: 'error', data: { message: errorFrame.message, recoverable: errorFrame.recoverable } });
        result.outcome = 'errored';
        return result;
      }
      if (frame.type === 'turn_end') state.config.balanceCu -= stream.costCu;
      sink.send(frame);
      collect(frame, result);
    }
    return result;
  } finally {
    state.runs.delete(session.id);
    session.isStreaming = false;
    session.lastActivity = Date.now();
    if (result.response) session.messages.push({ role: 'assistant', content: result.response });
    bump(state, `run.${result.outcome}`);
    state.events.emit('run-end', { sessionId: session.id, ...result });
  }
}
