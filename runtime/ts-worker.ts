// A worker thread running a TypeScript entry module: the worker registers tsx's loader for its own thread, then
// imports the entry (there is no build step, so a worker cannot be given a .ts file directly).
import { Worker, type WorkerOptions } from 'node:worker_threads';

const TSX_API = import.meta.resolve('tsx/esm/api');

/** `options` pass through to the Worker (`workerData`, `transferList`, …). */
export function startTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
