// A bounded, insertion-ordered memory of ids with a value each (the oldest go first when full, or once older
// than the TTL): message nonces for dedupe, kernel request ids for the replay guard.
export class RecentIds<V> {
  readonly #entries = new Map<string, { value: V; at: number }>();

  constructor(
    readonly capacity: number,
    readonly ttlMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  get(id: string): V | undefined {
    this.#expire();
    return this.#entries.get(id)?.value;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  set(id: string, value: V): void {
    this.#entries.delete(id);
    this.#entries.set(id, { value, at: this.clock() });
    while (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  get size(): number {
    return this.#entries.size;
  }

  #expire(): void {
    if (this.ttlMs <= 0) return;
    const limit = this.clock() - this.ttlMs;
    for (const [id, entry] of this.#entries) {
      if (entry.at >= limit) break;
      this.#entries.delete(id);
    }
  }
}
