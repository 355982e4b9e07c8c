// A pool of compile worker threads. A task that overruns its timeout, or a worker that dies, costs that worker:
// it is terminated (which really stops the work) and replaced, and the other workers go on.
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../runtime/ts-worker.ts';
import type { CompileOutput, CompileTask } from './compile-task.ts';

export class CompileTimeoutError extends Error {
  override readonly name = 'CompileTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`compile did not finish within ${timeoutMs} ms; its worker was terminated`);
  }
}

export class CompileWorkerError extends Error {
  override readonly name = 'CompileWorkerError';
}

/** Runs compile tasks (the pool; tests substitute their own). */
export interface CompileRunner {
  run(task: CompileTask, timeoutMs: number): Promise<CompileOutput>;
}

type Reply = { ready: true } | { ok: true; output: CompileOutput } | { ok: false; error: string };

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  busy: boolean;
}

const WORKER_ENTRY = new URL('./compile-worker.ts', import.meta.url);

export class CompileWorkerPool implements CompileRunner {
  readonly #slots: Slot[] = [];
  readonly #waiting: Array<(slot: Slot) => void> = [];
  #closed = false;
  #spawned = 0;

  /** Workers start on demand, up to `size`: a forge that compiles nothing costs no threads. */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`compile worker pool size must be an integer >= 1, got ${size}`);
  }

  /** Workers started so far, replacements included. */
  get spawned(): number {
    return this.#spawned;
  }

  /** Runs `task` on a free worker; rejects with CompileTimeoutError after `timeoutMs` (and replaces the worker). */
  async run(task: CompileTask, timeoutMs: number): Promise<CompileOutput> {
    const slot = await this.#acquire();
    const started = performance.now();
    try {
      await this.#whenReady(slot, timeoutMs);
      return await this.#execute(slot, task, Math.max(1, timeoutMs - (performance.now() - started)));
    } finally {
      this.#release(slot);
    }
  }

  /** A worker's start-up counts against the task's time; a worker that fails to start is replaced. */
  async #whenReady(slot: Slot, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      if ((await Promise.race([slot.ready.then(() => 'ready' as const), timedOut])) === 'timeout') {
        this.#replace(slot);
        throw new CompileTimeoutError(timeoutMs);
      }
    } catch (error) {
      if (error instanceof CompileTimeoutError) throw error;
      this.#replace(slot);
      throw new CompileWorkerError(`compile worker failed to start: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((slot) => slot.worker.terminate()));
  }

  #execute(slot: Slot, task: CompileTask, timeoutMs: number): Promise<CompileOutput> {
    return new Promise<CompileOutput>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        slot.worker.off('message', onMessage);
        slot.worker.off('error', onError);
        slot.worker.off('exit', onExit);
      };
      const onMessage = (reply: Reply): void => {
        if ('ready' in reply) return;
        finish();
        if (reply.ok) resolve({ ...reply.output, artifact: new Uint8Array(reply.output.artifact) });
        else reject(new CompileWorkerError(reply.error));
      };
      const onError = (error: Error): void => {
        finish();
        this.#replace(slot);
        reject(new CompileWorkerError(`compile worker crashed: ${error.message}`));
      };
      const onExit = (code: number): void => {
        finish();
        this.#replace(slot);
        reject(new CompileWorkerError(`compile worker exited (code ${code})`));
      };
      const timer = setTimeout(() => {
        finish();
        this.#replace(slot);
        reject(new CompileTimeoutError(timeoutMs));
      }, timeoutMs);
      slot.worker.on('message', onMessage);
      slot.worker.on('error', onError);
      slot.worker.on('exit', onExit);
      slot.worker.postMessage(task);
    });
  }

  #spawn(): Slot {
    this.#spawned += 1;
    const worker = startTsWorker(WORKER_ENTRY);
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const onReady = (reply: Reply): void => {
        if ('ready' in reply) {
          worker.off('message', onReady);
          resolve();
        }
      };
      worker.on('message', onReady);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`exited during start-up (code ${code})`)));
    });
    // A worker that fails to start rejects its first task, not the process.
    ready.catch(() => undefined);
    return { worker, ready, busy: false };
  }

  /** Terminates a worker (stopping whatever it runs) and puts a fresh one in its place. */
  #replace(slot: Slot): void {
    void slot.worker.terminate();
    if (this.#closed) return;
    const fresh = this.#spawn();
    slot.worker = fresh.worker;
    slot.ready = fresh.ready;
  }

  #acquire(): Promise<Slot> {
    if (this.#closed) return Promise.reject(new CompileWorkerError('compile worker pool is closed'));
    let free = this.#slots.find((slot) => !slot.busy);
    if (!free && this.#slots.length < this.size) {
      free = this.#spawn();
      this.#slots.push(free);
    }
    if (free) {
      free.busy = true;
      return Promise.resolve(free);
    }
    return new Promise<Slot>((resolve) => this.#waiting.push(resolve));
  }

  #release(slot: Slot): void {
    const next = this.#waiting.shift();
    if (next) next(slot);
    else slot.busy = false;
  }
}
