// Waiting for events in tests, without sleeps: code under test pushes what happened, the test awaits it.

export class EventLog<T> {
  readonly seen: T[] = [];
  #waiters: Array<{ match: (event: T) => boolean; resolve: (event: T) => void }> = [];

  push(event: T): void {
    this.seen.push(event);
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (waiter.match(event)) waiter.resolve(event);
      else this.#waiters.push(waiter);
    }
  }

  /**
   * The first event (already seen or still to come, counting from `from`) that matches. Rejects after
   * `timeoutMs`: a guard against a hung test, not a way of waiting.
   */
  waitFor(match: (event: T) => boolean, { from = 0, timeoutMs = 10_000 } = {}): Promise<T> {
    const found = this.seen.slice(from).find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`event not seen within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        match,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }

  count(match: (event: T) => boolean): number {
    return this.seen.filter(match).length;
  }
}

/** A promise with its resolve function, for handing control between a test and an actor. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * Resolves once `check` holds, polling every few milliseconds: for state that announces no event (a stream's
 * backlog, a server's counters). Rejects after `timeoutMs`, naming `what`.
 */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
