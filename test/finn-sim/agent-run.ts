import { performance } from 'node:perf_hooks';
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

/**
 * How long to wait for the frame due `pace` after `dueAt`: frames are due at start + k × pace, so a
 * late timer (a pause of the simulator) shortens the next wait instead of shifting every later
 * frame. With each frame timed from the previous one, streams whose frames fell due during the
 * same pause would share a phase for the rest of the run, and bunches would only ever grow.
 */
export function nextFrameWait(dueAt: number, pace: number, now: number): number {
  return Math.max(0, dueAt + pace - now);
}

/** Tool calls as the run sends them (the response is joined from the sent deltas at the end). */
function collectTool(frame: FinnFrame, result: RunResult): void {
  const data = frame.data ?? {};
  if (frame.type === 'tool_start') result.toolCalls.push({ name: String(data.toolName), args: data.args, result: '' });
  const last = result.toolCalls.at(-1);
  if (frame.type === 'tool_end' && last) last.result = String(data.result);
}

function responseOf(frames: readonly FinnFrame[], sent: number): string {
  let response = '';
  for (let i = 0; i < sent; i += 1) {
    const data = frames[i]!.data;
    if (frames[i]!.type === 'text_delta' && typeof data?.delta === 'string') response += data.delta;
  }
  return response;
}

/**
 * Plays one agent run on a session, frame by frame, applying the stream faults.
 *
 * Frames are due at a fixed pace from the run's start (`nextFrameWait`), each on its own timer;
 * `abort()` (a client's abort, or shutdown aborting every run) clears the pending one. A run keeps
 * little per frame alive between frames, and the response is joined from the frames sent when the
 * run ends. Under the chat benchmark (1,000 runs, 5,000 frames a second) whatever a run keeps until
 * the next frame (earlier: a promise, its callbacks and the awaiting function's state) or until its
 * end (the response grown one delta at a time) is copied by the simulator's scavenges and promoted,
 * and those pauses bunch the frames it sends. Earlier versions raced each frame's sleep against a
 * never-settling `aborted` promise (a reaction per frame until the run ended), and used the shared
 * `sleep()`, whose Set of entries made every scavenge keep ~4.5 MB (reproduced standalone).
 */
export function runAgent(state: SimState, session: SimSession, text: string, sink: RunSink): Promise<RunResult> {
  const stream = state.config.stream;
  const frames = scriptFrames(text, stream, state.config.balanceCu);
  const result: RunResult = { outcome: 'completed', response: '', toolCalls: [] };
  session.isStreaming = true;
  session.messages.push({ role: 'user', content: text });
  bump(state, 'run.started');
  return new Promise<RunResult>((resolve, reject) => {
    let sent = 0;
    let ended = false;
    let erred = false;
    const end = (outcome: RunOutcome, error?: unknown): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      result.outcome = outcome;
      result.response = responseOf(frames, sent);
      state.runs.delete(session.id);
      session.isStreaming = false;
      session.lastActivity = Date.now();
      if (result.response) session.messages.push({ role: 'assistant', content: result.response });
      bump(state, `run.${result.outcome}`);
      state.events.emit('run-end', { sessionId: session.id, ...result });
      if (error === undefined) resolve(result);
      else reject(error instanceof Error ? error : new Error(String(error)));
    };
    const step = (): void => {
      try {
        if (state.closed) return end('closed');
        const frame = frames[sent]!;
        const { dropStreamAfter, errorFrame, stallStreamAfter } = state.faults;
        // Hung: nothing more is sent; abort() or the socket closing ends the run.
        if (stallStreamAfter !== null && sent >= stallStreamAfter) return;
        if (dropStreamAfter !== null && sent >= dropStreamAfter) {
          sink.drop();
          return end('dropped');
        }
        if (errorFrame !== null && sent >= errorFrame.afterFrames && !erred) {
          sink.send({ type: 'error', data: { message: errorFrame.message, recoverable: errorFrame.recoverable } });
          if (!errorFrame.continues) return end('errored');
          erred = true;
        }
        if (frame.type === 'turn_end') state.config.balanceCu -= stream.costCu;
        sink.send(frame);
        collectTool(frame, result);
        sent += 1;
        if (sent === frames.length) return end('completed');
        timer = setTimeout(step, nextFrameWait(dueAt, stream.delayMs, performance.now()));
        dueAt += stream.delayMs;
      } catch (err) {
        end(result.outcome, err);
      }
    };
    let dueAt = performance.now() + stream.delayMs;
    let timer = setTimeout(step, stream.delayMs);
    state.runs.set(session.id, {
      abort: () => {
        if (ended) return;
        const outcome = state.closed ? 'closed' : 'aborted';
        try {
          if (!state.closed) sink.send({ type: 'agent_end', data: {} });
        } catch (err) {
          // As a failed frame: the run's promise rejects, the caller of abort() is not thrown at.
          return end(outcome, err);
        }
        end(outcome);
      },
    });
  });
}
