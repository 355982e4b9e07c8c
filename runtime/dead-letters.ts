// The dead-letter office: every message that could not be delivered is counted and the last N are kept.
import { encodeLeyline } from '../contracts/codec.ts';
import { leyline, leylineTypeName, type LeylineMessage, type v1 } from '../contracts/index.ts';
import { toTimestamp } from '../contracts/time.ts';

export interface DeadLetterStats {
  readonly total: number;
  readonly byReason: Readonly<Record<string, number>>;
}

export class DeadLetterOffice {
  #kept: v1.DeadLetter[] = [];
  #total = 0;
  readonly #byReason = new Map<v1.DeadLetterReason, number>();
  readonly #listeners = new Set<(letter: v1.DeadLetter) => void>();

  constructor(readonly capacity = 256) {}

  record(recipientPath: string, message: LeylineMessage, reason: v1.DeadLetterReason, detail = ''): v1.DeadLetter {
    const type = leylineTypeName(message);
    const letter = leyline.DeadLetter.create({
      recipientPath,
      messageType: type,
      payload: encodeLeyline(message),
      reason,
      at: toTimestamp(Date.now()),
      detail,
    });
    this.#total += 1;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    this.#kept.push(letter);
    if (this.#kept.length > this.capacity) this.#kept.splice(0, this.#kept.length - this.capacity);
    for (const listener of this.#listeners) listener(letter);
    return letter;
  }

  /** The most recent letters, oldest first. */
  recent(limit = this.capacity): v1.DeadLetter[] {
    return this.#kept.slice(Math.max(0, this.#kept.length - limit));
  }

  stats(): DeadLetterStats {
    const byReason: Record<string, number> = {};
    for (const [reason, count] of this.#byReason) byReason[leyline.DeadLetterReason[reason] ?? String(reason)] = count;
    return { total: this.#total, byReason };
  }

  onLetter(listener: (letter: v1.DeadLetter) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
