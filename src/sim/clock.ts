/**
 * A virtual clock for a discrete-event simulation. `now()` is virtual time; `sleep(ms)` and
 * `at(time, fn)` put events on a queue, and `runUntil` pops them in time order. Nothing waits
 * for real time: between two events the loop yields once to the event loop (setImmediate), which
 * lets every promise continuation triggered by the event run to its next `sleep` or its end.
 */
import type { Clock } from '../ports/index.js';

interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
}

/** Binary min-heap on (at, seq): equal times keep their scheduling order, so runs are deterministic. */
class EventHeap {
  private readonly items: SimEvent[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): SimEvent | undefined {
    return this.items[0];
  }
  private less(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  push(e: SimEvent): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): SimEvent | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly heap = new EventHeap();
  /** Events processed so far (for performance reporting). */
  processed = 0;

  constructor(startMs: number) {
    this.t = startMs;
  }

  now(): Date {
    return new Date(this.t);
  }

  nowMs(): number {
    return this.t;
  }

  /** Schedule `fn` at virtual time `atMs` (not earlier than now). */
  at(atMs: number, fn: () => void): void {
    this.heap.push({ at: Math.max(atMs, this.t), seq: this.seq++, fn });
  }

  /** Schedule `fn` after `ms` of virtual time. */
  after(ms: number, fn: () => void): void {
    this.at(this.t + Math.max(0, ms), fn);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  pending(): number {
    return this.heap.size;
  }

  /**
   * Process events up to and including `endMs`, then set the clock to `endMs`.
   * `onTick` is called after each event (progress reporting); it must not schedule real work.
   */
  async runUntil(endMs: number, onTick?: (nowMs: number) => void): Promise<void> {
    await yieldToEventLoop();
    for (;;) {
      const next = this.heap.peek();
      if (!next || next.at > endMs) break;
      this.heap.pop();
      this.t = next.at;
      next.fn();
      this.processed++;
      await yieldToEventLoop();
      onTick?.(this.t);
    }
    this.t = Math.max(this.t, endMs);
  }
}
