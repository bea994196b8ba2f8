import type { ExecutionResult } from 'graphql';

type Result = ExecutionResult;
type Step = IteratorResult<Result>;

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * Marks a source whose `return()` settles a pending `next()` at once (the chat BoundedQueue does).
 * A deadline then ends the stream through the source, and the stream needs no promise of its own
 * per event; other sources (async generators queue `return()` behind a pending `next()`) get one.
 */
export const returnSettlesPendingNext: unique symbol = Symbol('returnSettlesPendingNext');
/** setTimeout's largest delay; a later deadline re-arms when it is reached. */
const MAX_TIMER_MS = 2_147_483_647;

export interface SubscriptionStreamOptions<T> {
  /** Turns one source event into its result: the compiled operation, or identity when the source yields results. */
  execute: (event: T) => Result | Promise<Result>;
  /** Applied to every result that carries errors (error masking). */
  mapErrors: (result: Result) => Result;
  /** The last result when the source or `execute` fails; the stream then ends. */
  failed: (err: unknown) => Result;
  /** Epoch ms after which `expired()` is emitted once and the stream ends (a wallet token's expiry). */
  expiresAt?: number;
  expired?: () => Result;
  /** Called once, however the stream ends (source done, client return(), expiry, failure). */
  onEnd?: () => void;
}

/**
 * One subscription's result stream: per-event execution, error masking, token expiry and the end
 * hook in a single iterator. Each of those used to be its own wrapper (yoga's masking `onNext`,
 * envelop's end and error wrappers, the expiry race, the event mapper), and every wrapper added a
 * promise, closures and a result object per event plus a pending chain per open subscription — at
 * thousands of chat deltas a second that garbage, and the chains each minor GC had to copy, were
 * what delayed deltas (bench chat). A failure of the source or of `execute` ends the stream with
 * one `failed(err)` result instead of an exception, so one broken subscription never takes down
 * its WebSocket's other operations.
 */
class SubscriptionStream<T> implements AsyncIterableIterator<Result> {
  readonly #it: AsyncIterator<T>;
  readonly #opts: SubscriptionStreamOptions<T>;
  /** open → closing (one last result was emitted: expiry or failure) → done. */
  #state: 'open' | 'closing' | 'done' = 'open';
  #timer: NodeJS.Timeout | undefined;
  /** The deadline, also checked on every next(): a busy stream must not outrun its timer. */
  readonly #expiresAt: number;
  #expired = false;
  /** The source settles a pending next() on return(): a deadline goes through it (see the symbol). */
  readonly #promptReturn: boolean;
  /** A source next() is pending (cheap deadline path only). */
  #pulling = false;
  /** Resolves the consumer's pending next() when a deadline can overtake the source. */
  #wake: ((step: Step) => void) | null = null;
  readonly #onStep = (r: IteratorResult<T>): Step | Promise<Step> => {
    this.#pulling = false;
    if (r.done) {
      if (this.#expired && this.#state === 'open') {
        // The deadline returned the source under a pending next(): its last word is the expiry.
        this.#state = 'closing';
        return { value: this.#opts.expired!(), done: false };
      }
      this.#end();
      return DONE;
    }
    try {
      const result = this.#opts.execute(r.value);
      return result instanceof Promise ? result.then(this.#emit, this.#onFailure) : this.#emit(result);
    } catch (err) {
      return this.#onFailure(err);
    }
  };
  readonly #emit = (result: Result): Step => ({
    value: result.errors?.length ? this.#opts.mapErrors(result) : result,
    done: false,
  });
  readonly #onFailure = (err: unknown): Step => {
    this.#pulling = false;
    if (this.#state === 'done') return DONE;
    this.#state = 'closing';
    return { value: this.#opts.failed(err), done: false };
  };

  constructor(source: AsyncIterable<T>, opts: SubscriptionStreamOptions<T>) {
    this.#it = source[Symbol.asyncIterator]();
    this.#opts = opts;
    this.#promptReturn = returnSettlesPendingNext in this.#it;
    this.#expiresAt = opts.expired && opts.expiresAt !== undefined ? opts.expiresAt : Infinity;
    if (this.#expiresAt !== Infinity) this.#arm(this.#expiresAt);
  }

  #arm(at: number): void {
    this.#timer = setTimeout(() => this.#deadline(at), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    this.#timer.unref();
  }

  #deadline(at: number): void {
    if (Date.now() < at) return this.#arm(at);
    this.#timer = undefined;
    this.#expired = true;
    if (this.#promptReturn) {
      if (this.#pulling && this.#state === 'open') void this.#it.return?.();
      return;
    }
    const wake = this.#wake;
    if (!wake || this.#state !== 'open') return;
    this.#wake = null;
    this.#state = 'closing';
    wake({ value: this.#opts.expired!(), done: false });
  }

  /** Stops the timer and reports the end once; the source is left alone. */
  #end(): void {
    if (this.#state === 'done') return;
    this.#state = 'done';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = null;
    wake?.(DONE);
    this.#opts.onEnd?.();
  }

  /** Ends and releases the source (the client left, the token expired, or it failed). */
  async #close(): Promise<void> {
    if (this.#state === 'done') return;
    this.#end();
    await this.#it.return?.();
  }

  next(): Promise<Step> {
    if (this.#state === 'done') return Promise.resolve(DONE);
    if (this.#state === 'closing') return this.#close().then(() => DONE, () => DONE);
    if (this.#expired || Date.now() >= this.#expiresAt) {
      this.#state = 'closing';
      return Promise.resolve({ value: this.#opts.expired!(), done: false });
    }
    this.#pulling = true;
    const pending = this.#it.next().then(this.#onStep, this.#onFailure);
    if (this.#timer === undefined || this.#promptReturn) return pending;
    // A deadline is armed: the consumer's next() must be able to settle before the source does.
    return new Promise<Step>((resolve) => {
      this.#wake = resolve;
      void pending.then((step) => {
        if (this.#wake !== resolve) return;
        this.#wake = null;
        resolve(step);
      });
    });
  }

  async return(): Promise<Step> {
    await this.#close();
    return DONE;
  }

  async throw(err: unknown): Promise<Step> {
    await this.#close();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export function subscriptionStream<T>(source: AsyncIterable<T>, opts: SubscriptionStreamOptions<T>): AsyncIterableIterator<Result> {
  return new SubscriptionStream(source, opts);
}
