// The episode workers of `esper learn`: K child processes (`esper serve episodes`), each booted once, each running
// the episodes it is handed one at a time. `runAll` hands out a batch of requests as workers come free and answers
// in request order, so what is learned never depends on which worker ran what, or when.
//
// A worker that dies is replaced (a fresh process, from its boot), and the episode it was running is handed out
// again; an episode that kills its worker twice is answered as failed. Workers share the learner's signing secret
// (ESPER_LEYLINE_SECRET in their environment) so they accept its signed policies.
import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { SECRET_ENV_VAR } from '../../contracts/signing.ts';
import { failedEpisode } from '../../actors/weatherlight/index.ts';
import type { LearnerMessage, WorkerMessage } from '../serve-episodes.ts';
import type { EpisodeSource } from './episode-source.ts';

/** The esper command, for the worker processes it starts (and `esper serve episodes --concurrency`). */
export const ESPER = fileURLToPath(new URL('../../bin/esper.js', import.meta.url));
/** Times one episode may be handed out before it is answered as failed. */
const ATTEMPTS = 2;
/** Worker replacements before the pool gives up (a worker that cannot boot must not loop). */
const MAX_REPLACEMENTS = 8;

export interface PoolOptions {
  size: number;
  curriculumFile: string;
  /** Each worker's files go under `<dir>/w<n>/` (its log is `<dir>/w<n>.log`). */
  dir: string;
  /** The Urza library the workers copy their kernels from is theirs to share: each gets its own root under its dir. */
  urza: (worker: number) => string;
  secret: string;
  /** Log level of the workers' own logs (to their log files). Default warn. */
  logLevel?: string;
}

interface Job {
  id: number;
  request: v1.EpisodeRequest;
  attempts: number;
  resolve: (result: v1.EpisodeResult) => void;
  reject: (error: EpisodePoolError) => void;
}

interface Worker {
  index: number;
  child: ChildProcess;
  ready: boolean;
  job: Job | null;
  log: WriteStream;
}

export class EpisodePoolError extends Error {
  override readonly name = 'EpisodePoolError';
}

export class EpisodePool implements EpisodeSource {
  readonly #options: PoolOptions;
  readonly #workers: Worker[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #replacements = 0;
  #closed = false;
  #closing: Promise<void> | null = null;
  #failure: EpisodePoolError | null = null;

  private constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Starts the workers and waits until every one has booted. */
  static async start(options: PoolOptions): Promise<EpisodePool> {
    const pool = new EpisodePool(options);
    mkdirSync(options.dir, { recursive: true });
    await Promise.all(Array.from({ length: options.size }, (_, i) => pool.#spawn(i)));
    return pool;
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Runs every request; the results come back in the requests' order. */
  runAll(requests: readonly v1.EpisodeRequest[]): Promise<v1.EpisodeResult[]> {
    return Promise.all(requests.map((request) => this.run(request)));
  }

  run(request: v1.EpisodeRequest): Promise<v1.EpisodeResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<v1.EpisodeResult>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, request, attempts: 0, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops the workers (once: later calls wait for the same); episodes not answered yet are rejected. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#fail(new EpisodePoolError('the episode workers were stopped'));
    this.#closed = true;
    await Promise.all(
      this.#workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.child.exitCode !== null || worker.child.signalCode !== null) return resolve();
            worker.child.once('exit', () => resolve());
            if (worker.child.connected) worker.child.disconnect();
            // A worker that does not stop within its shutdown deadline is killed.
            setTimeout(() => worker.child.kill('SIGKILL'), 20_000).unref();
          }),
      ),
    );
    for (const worker of this.#workers) worker.log.end();
  }

  #spawn(index: number): Promise<void> {
    const dir = join(this.#options.dir, `w${index}`);
    mkdirSync(dir, { recursive: true });
    const log =
      this.#workers[index]?.log ?? createWriteStream(join(this.#options.dir, `w${index}.log`), { flags: 'a' });
    const child = fork(
      ESPER,
      ['serve', 'episodes', this.#options.curriculumFile, '--worker-dir', dir, '--urza', this.#options.urza(index)],
      {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
        env: {
          ...process.env,
          [SECRET_ENV_VAR]: this.#options.secret,
          ESPER_LOG_LEVEL: this.#options.logLevel ?? process.env.ESPER_LOG_LEVEL ?? 'warn',
        },
      },
    );
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const worker: Worker = { index, child, ready: false, job: null, log };
    this.#workers[index] = worker;
    return new Promise<void>((resolve, reject) => {
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          worker.ready = true;
          resolve();
          this.#dispatch();
        } else this.#answered(worker, message);
      });
      child.once('exit', (code, signal) => {
        if (!worker.ready)
          reject(
            new EpisodePoolError(
              `episode worker ${index} exited while booting (${signal ?? `code ${code}`}); see ${join(this.#options.dir, `w${index}.log`)}`,
            ),
          );
        this.#exited(worker, signal ?? `code ${code}`);
      });
    });
  }

  #answered(worker: Worker, message: Exclude<WorkerMessage, { type: 'ready' }>): void {
    const job = worker.job;
    if (!job || job.id !== message.id) return;
    worker.job = null;
    if (message.type === 'result') {
      const decoded = decodeLeyline(leyline.EpisodeResult, message.result);
      job.resolve(
        decoded.ok ? decoded.message : this.#failedResult(job, `undecodable EpisodeResult: ${decoded.error.message}`),
      );
    } else job.resolve(this.#failedResult(job, message.error));
    this.#dispatch();
  }

  #exited(worker: Worker, how: string): void {
    if (this.#closed || this.#workers[worker.index] !== worker) return;
    const job = worker.job;
    worker.job = null;
    if (job) {
      if (job.attempts < ATTEMPTS) this.#queue.unshift(job);
      else job.resolve(this.#failedResult(job, `its worker died ${ATTEMPTS} times (last: ${how})`));
    }
    if (!worker.ready) return;
    this.#replacements += 1;
    if (this.#replacements > MAX_REPLACEMENTS) {
      this.#fail(
        new EpisodePoolError(
          `episode workers died ${this.#replacements} times; the last: worker ${worker.index} (${how}); see its log in ${this.#options.dir}`,
        ),
      );
      return;
    }
    worker.log.write(`\nesper learn: episode worker ${worker.index} died (${how}); starting another\n`);
    this.#spawn(worker.index).catch((error: unknown) => this.#fail(error as EpisodePoolError));
  }

  #fail(error: EpisodePoolError): void {
    this.#failure = error;
    const pending = [...this.#queue.splice(0), ...this.#workers.flatMap((worker) => (worker?.job ? [worker.job] : []))];
    for (const job of pending) job.reject(error);
  }

  #dispatch(): void {
    for (const worker of this.#workers) {
      if (!worker?.ready || worker.job || this.#queue.length === 0) continue;
      const job = this.#queue.shift()!;
      job.attempts += 1;
      worker.job = job;
      worker.child.send({ type: 'episode', id: job.id, request: encodeLeyline(job.request) } satisfies LearnerMessage);
    }
  }

  #failedResult(job: Job, error: string): v1.EpisodeResult {
    return failedEpisode(job.request, error);
  }
}
