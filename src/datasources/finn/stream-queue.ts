import { returnSettlesPendingNext } from '../../subscription-stream.js';

/**
 * A single-consumer async queue with a hard bound. Producers never wait: when the consumer falls
 * `capacity` items behind, `push` refuses the item and the queue closes with `overflow()` as its
 * last item, so a slow client costs at most `capacity + 1` buffered items.
 */
export interface BoundedQueue<T> extends AsyncIterableIterator<T> {
  /** false when the item was refused (queue ended, or overflow just ended it). */
  push(item: T): boolean;
  /** Ends after the buffered items, optionally followed by `last`. Idempotent. */
  end(last?: T): void;
  readonly ended: boolean;
  size(): number;
}

export interface BoundedQueueOptions<T> {
  capacity: number;
  /** The terminal item appended on overflow. */
  overflow: () => T;
  /** Called once when the consumer stops early (return()) or the queue overflows. */
  onAbandon?: (reason: 'return' | 'overflow') => void;
}

/**
 * A class rather than a closure-built object: one queue lives per open chat subscription, and
 * prototype methods cost nothing per instance where ten closures and their context did.
 */
class Queue<T> implements BoundedQueue<T> {
  #items: T[] = [];
  #ended = false;
  #abandoned = false;
  #waiter: ((r: IteratorResult<T>) => void) | null = null;
  readonly #opts: BoundedQueueOptions<T>;
  /** return() settles a waiting next() at once (subscription-stream.ts relies on it for deadlines). */
  readonly [returnSettlesPendingNext] = true;

  constructor(opts: BoundedQueueOptions<T>) {
    this.#opts = opts;
  }

  #abandon(reason: 'return' | 'overflow'): void {
    if (this.#abandoned) return;
    this.#abandoned = true;
    this.#opts.onAbandon?.(reason);
  }

  #deliver(item: T): void {
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  #finishWaiter(): void {
    const w = this.#waiter;
    if (w && this.#items.length === 0) {
      this.#waiter = null;
      w({ value: undefined, done: true });
    }
  }

  push(item: T): boolean {
    if (this.#ended) return false;
    if (this.#items.length >= this.#opts.capacity) {
      this.end(this.#opts.overflow());
      this.#abandon('overflow');
      return false;
    }
    this.#deliver(item);
    return true;
  }

  end(last?: T): void {
    if (this.#ended) return;
    if (last !== undefined) this.#deliver(last);
    this.#ended = true;
    this.#finishWaiter();
  }

  get ended(): boolean {
    return this.#ended;
  }

  size(): number {
    return this.#items.length;
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    const producerDone = this.#ended;
    this.#items.length = 0;
    this.#ended = true;
    this.#finishWaiter();
    if (!producerDone) this.#abandon('return');
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): BoundedQueue<T> {
    return this;
  }
}

export function createBoundedQueue<T>(opts: BoundedQueueOptions<T>): BoundedQueue<T> {
  return new Queue(opts);
}
