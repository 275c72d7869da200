import { MAX_CONCURRENT_REQUESTS, MAX_CONCURRENT_STREAMS } from "./config.js";

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with full jitter: attempt 1 waits up to 200 ms, attempt 2 up to 400 ms, ... capped at 5 s. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(5000, 200 * 2 ** (attempt - 1));
}

/** At most `n` tasks at once; the others wait their turn in order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly n: number) {}

  async acquire(): Promise<() => void> {
    // A released slot passes straight to the next waiter, so no newcomer can take it in between.
    if (this.active < this.n) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }
}

/** Range requests in flight, over every object of the run. */
export const requests = new Limiter(MAX_CONCURRENT_REQUESTS);
/** --deep streams in flight. */
export const streams = new Limiter(MAX_CONCURRENT_STREAMS);
