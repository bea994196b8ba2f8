import { randomUUID } from 'node:crypto';
import type { Deadline } from '../deadline.js';
import { endsTurn } from '../domain/chat-events.js';
import { createTurnAssembler, type NewMemoryEvent } from '../domain/memory-events.js';
import { LogEvent } from '../log-events.js';
import type { Logger } from '../logger.js';
import type { ChatActivity, ChatStreamManager } from './finn/stream-manager.js';
import type { NftDirectory } from './nft-ownership.js';

export interface MemoryWriterOptions {
  /** Attempts per batch before it is logged as memory_append_failed (default 4). */
  attempts: number;
  /** Backoff before retry n is baseDelayMs * 4^(n-1) (default 100 ms). */
  baseDelayMs: number;
  /** Sessions mid-turn whose state is kept (turn assembly, queued batches); the oldest idle ones go first. */
  maxSessions: number;
}

const DEFAULTS: MemoryWriterOptions = { attempts: 4, baseDelayMs: 100, maxSessions: 10_000 };

type Batch = { nftId: string; conversationId: string; actorWallet: string | null; events: readonly NewMemoryEvent[]; batchId: string };

interface SessionState {
  nftId: string;
  wallet: string;
  assembler: ReturnType<typeof createTurnAssembler>;
  pending: NewMemoryEvent[];
  draining: Promise<void> | null;
  /** The last turn ended (agent_end or error): the state goes once its batches are written. */
  turnEnded: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Feeds soul memory from the chat streams: per session a small write queue that batches the frames
 * arriving together into one transaction, appended in order as they arrive, only for a wallet that
 * owns the session's NFT. A failing batch is retried with backoff and then logged, never thrown.
 * Ownership is asked of the NftDirectory for every batch, so a transfer stops the writes within
 * DIXIE_NFT_OWNERSHIP_TTL as it does every other NFT-scoped check; a failed lookup is retried.
 */
export function createMemoryWriter(deps: { streams: ChatStreamManager; nfts: NftDirectory; logger: Logger; append: (b: Batch) => Promise<unknown>; options?: Partial<MemoryWriterOptions> }) {
  const opts = { ...DEFAULTS, ...deps.options };
  const sessions = new Map<string, SessionState>();

  const isOwner = async (s: SessionState): Promise<boolean> => {
    const wallet = s.wallet.toLowerCase();
    return (await deps.nfts.forWallet(s.wallet)).some((n) => n.nftId === s.nftId && n.ownerWallet.toLowerCase() === wallet);
  };

  async function write(sessionId: string, s: SessionState, events: NewMemoryEvent[]): Promise<void> {
    // One id for every attempt: a retry after a COMMIT whose reply was lost is not appended twice.
    const batchId = randomUUID();
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await isOwner(s))) {
          deps.logger.debug({ event: 'memory_not_owner', nft_id: s.nftId, session_id: sessionId, events: events.length }, 'wallet does not own the NFT: not recorded');
          return;
        }
        await deps.append({ nftId: s.nftId, conversationId: sessionId, actorWallet: s.wallet.toLowerCase(), events, batchId });
        return;
      } catch (err) {
        const fields = { nft_id: s.nftId, session_id: sessionId, events: events.length, attempts: attempt, err: err instanceof Error ? err.message : String(err) };
        if (attempt >= opts.attempts) {
          deps.logger.error({ event: LogEvent.memoryAppendFailed, ...fields }, 'soul memory append failed');
          return;
        }
        deps.logger.warn({ event: 'memory_append_retry', ...fields }, 'soul memory append failed, retrying');
        await sleep(opts.baseDelayMs * 4 ** (attempt - 1));
      }
    }
  }

  async function drain(sessionId: string, s: SessionState): Promise<void> {
    // One tick of delay lets frames that arrive together join one batch.
    await new Promise((r) => setImmediate(r));
    while (s.pending.length) await write(sessionId, s, s.pending.splice(0));
    s.draining = null;
    release(sessionId, s);
  }

  function release(sessionId: string, s: SessionState): void {
    if (s.turnEnded && !s.draining && sessions.get(sessionId) === s) sessions.delete(sessionId);
  }

  function held(sessionId: string, nftId: string, wallet: string): SessionState | null {
    const s = sessions.get(sessionId);
    return s && s.nftId === nftId && s.wallet === wallet ? s : null;
  }

  function stateFor(a: ChatActivity & { nftId: string }): SessionState {
    const existing = held(a.sessionId, a.nftId, a.wallet);
    if (existing) return existing;
    if (sessions.size >= opts.maxSessions) {
      for (const [id, s] of sessions) {
        if (!s.draining) {
          sessions.delete(id);
          break;
        }
      }
    }
    const s: SessionState = { nftId: a.nftId, wallet: a.wallet, assembler: createTurnAssembler(), pending: [], draining: null, turnEnded: false };
    sessions.set(a.sessionId, s);
    return s;
  }

  const off = deps.streams.onEvent((a) => {
    if (a.nftId === null) return;
    // A cut turn ends the state it left; it never starts one.
    if (a.kind === 'end' && !held(a.sessionId, a.nftId, a.wallet)) return;
    const s = stateFor({ ...a, nftId: a.nftId });
    const produced = s.assembler.push(a.kind === 'prompt' ? { kind: 'prompt', text: a.text } : a.kind === 'event' ? { kind: 'event', event: a.event } : { kind: 'cut' });
    s.turnEnded = a.kind === 'end' || (a.kind === 'event' && endsTurn(a.event));
    if (produced.length) {
      s.pending.push(...produced);
      s.draining ??= drain(a.sessionId, s);
    }
    release(a.sessionId, s);
  });

  return {
    /** Sessions whose state is held (a turn in progress or batches still to write). */
    heldSessions: () => sessions.size,
    /** Stops listening and waits for queued batches to be written while `by` allows. */
    async close(by: Deadline): Promise<void> {
      off();
      const pending = [...sessions.values()].map((s) => s.draining).filter((p): p is Promise<void> => !!p);
      await by.within(Promise.allSettled(pending));
    },
  };
}
