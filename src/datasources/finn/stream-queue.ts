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

export function createBoundedQueue<T>(opts: BoundedQueueOptions<T>): BoundedQueue<T> {
  const items: T[] = [];
  let ended = false;
  let abandoned = false;
  let waiter: ((r: IteratorResult<T>) => void) | null = null;

  const abandon = (reason: 'return' | 'overflow') => {
    if (abandoned) return;
    abandoned = true;
    opts.onAbandon?.(reason);
  };

  const deliver = (item: T): void => {
    if (waiter) {
      const w = waiter;
      waiter = null;
      w({ value: item, done: false });
    } else {
      items.push(item);
    }
  };

  const finishWaiter = () => {
    if (waiter && items.length === 0) {
      const w = waiter;
      waiter = null;
      w({ value: undefined, done: true });
    }
  };

  const queue: BoundedQueue<T> = {
    push(item) {
      if (ended) return false;
      if (items.length >= opts.capacity) {
        queue.end(opts.overflow());
        abandon('overflow');
        return false;
      }
      deliver(item);
      return true;
    },
    end(last) {
      if (ended) return;
      if (last !== undefined) deliver(last);
      ended = true;
      finishWaiter();
    },
    get ended() {
      return ended;
    },
    size: () => items.length,
    next() {
      const item = items.shift();
      if (item !== undefined) return Promise.resolve({ value: item, done: false });
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiter = resolve));
    },
    return() {
      const producerDone = ended;
      items.length = 0;
      ended = true;
      finishWaiter();
      if (!producerDone) abandon('return');
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return queue;
    },
  };
  return queue;
}
