// One request at a time to a worker thread running a TypeScript entry (ts-worker.ts), each with a deadline: a worker
// that overruns is terminated (which really stops its work) and every later request fails with the same error, as
// after a crash or an exit. Replies are `{ ok: true, ... }` or `{ ok: false, error }`.
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from './ts-worker.ts';

export type ChannelReply<R> = ({ ok: true } & R) | { ok: false; error: string };

export class WorkerChannelError extends Error {
  override readonly name = 'WorkerChannelError';
}

export class WorkerChannel<Request extends { kind: string }, Reply extends object> {
  readonly #worker: Worker;
  #pending: { resolve: (reply: ChannelReply<Reply>) => void; reject: (error: Error) => void } | null = null;
  #failure: Error | null = null;

  /** `label` names the thread in errors ("policy thread", "simic thread"). */
  constructor(
    entry: URL,
    readonly label: string,
  ) {
    this.#worker = startTsWorker(entry);
    this.#worker.unref();
    this.#worker.on('message', (reply: ChannelReply<Reply>) => {
      const pending = this.#pending;
      this.#pending = null;
      pending?.resolve(reply);
    });
    const fail = (error: Error): void => {
      this.#failure = error;
      const pending = this.#pending;
      this.#pending = null;
      pending?.reject(error);
    };
    this.#worker.on('error', (error) => fail(new WorkerChannelError(`${label} crashed: ${error.message}`)));
    this.#worker.on('exit', (code) => fail(new WorkerChannelError(`${label} exited (code ${code})`)));
  }

  request(request: Request, timeoutMs: number, transfer: ArrayBuffer[] = []): Promise<{ ok: true } & Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#pending) return Promise.reject(new WorkerChannelError(`${this.label} is busy`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending = null;
        this.#failure = new WorkerChannelError(
          `${this.label} did not answer ${request.kind} within ${timeoutMs} ms; stopped`,
        );
        void this.#worker.terminate();
        reject(this.#failure);
      }, timeoutMs);
      this.#pending = {
        resolve: (reply) => {
          clearTimeout(timer);
          if (reply.ok) resolve(reply);
          else reject(new WorkerChannelError(reply.error));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#worker.postMessage(request, transfer);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
