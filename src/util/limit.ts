/**
 * Bounded concurrency for bursts (many creates/deletes in one pass).
 */

/** A semaphore: `run(fn)` starts fn when fewer than `limit` runs are active. */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly pending: number;
}

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  let active = 0;
  const queue: (() => void)[] = [];
  // A finishing run hands its slot straight to the next waiter, so `active` never exceeds `limit`.
  const release = () => {
    const next = queue.shift();
    if (next) next();
    else active -= 1;
  };
  return {
    get active() {
      return active;
    },
    get pending() {
      return queue.length;
    },
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
      else active += 1;
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight. Never rejects: every item gets a
 * settled result in input order, so one failure does not stop the rest of the burst.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const limiter = createLimiter(limit);
  return Promise.allSettled(items.map((item, i) => limiter.run(() => fn(item, i))));
}
