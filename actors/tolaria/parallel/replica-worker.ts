// A replica of a data-parallel run (worker thread): its own TF.js, a copy of the host and of every grafted seed's
// module. Each step it takes the training thread's weights from shared memory, computes its shard's loss and
// gradients with the same function the training thread uses (training/epoch.ts shardGradients), and writes them
// back. It keeps no optimizer and no state of its own between steps beyond the modules it was sent.
import { receiveMessageOnPort, workerData, parentPort } from 'node:worker_threads';
import { deserializeModule, type BlueprintModule } from '../../../blueprints/index.ts';
import { GraftTable } from '../../../surface/index.ts';
import { selectTensorBackend, tf, type BackendPreference } from '../../../tensor/index.ts';
import { buildHost } from '../host/host-model.ts';
import { shardGradients } from '../training/epoch.ts';
import type { ReplicaLayout } from './replica-layout.ts';
import { CONTROL, type FromReplica, type ReplicaInit, type ToReplica } from './replica-protocol.ts';

const init = workerData as ReplicaInit;
const port = init.port;
const send = (message: FromReplica): void => port.postMessage(message);

await selectTensorBackend(init.backend as BackendPreference);
const host = buildHost(init.host, init.rngSeed);
const modules = new Map<number, BlueprintModule>();
const control = new Int32Array(init.control);
const results = new Float64Array(init.results);
const input = new Float32Array(init.input);
const labels = new Int32Array(init.labels);
const features = init.inputShape.reduce((n, d) => n * d, 1);

let layout: ReplicaLayout | null = null;
let weights: Float32Array<ArrayBufferLike> = new Float32Array(0);
let grads: Float32Array<ArrayBufferLike> = new Float32Array(0);
/** The layout's variables, by key. */
let variables = new Map<string, tf.Variable>();
/** Seeds whose module threw here: reported once, bypassed after (as the training thread does). */
const failed = new Map<number, string>();

function adopt(message: Extract<ToReplica, { kind: 'layout' }>): void {
  for (const { id, bytes } of message.modules) modules.set(id, deserializeModule(bytes));
  const keep = new Set(message.keep);
  for (const [id, module] of modules) {
    if (keep.has(id)) continue;
    module.dispose();
    modules.delete(id);
    failed.delete(id);
  }
  layout = message.layout;
  weights = new Float32Array(message.weights);
  grads = new Float32Array(message.grads);
  variables = new Map();
  for (const { key } of layout.weights) {
    const variable = key.startsWith('host/')
      ? host.variables.get(key.slice('host/'.length))
      : modules
          .get(Number(key.slice('module:'.length, key.indexOf('/'))))
          ?.variables.get(key.slice(key.indexOf('/') + 1));
    if (!variable) throw new Error(`replica ${init.replica}: layout names ${key}, which it does not hold`);
    variables.set(key, variable);
  }
}

function step(message: Extract<ToReplica, { kind: 'step' }>): void {
  if (!layout || layout.version !== message.layout)
    throw new Error(
      `replica ${init.replica}: step ${message.seq} is for layout ${message.layout}, it holds ${layout?.version ?? 'none'}`,
    );
  const current = layout;
  const grafts = new GraftTable();
  for (const view of message.grafts) {
    const module = modules.get(view.moduleId);
    if (!module) throw new Error(`replica ${init.replica}: no module ${view.moduleId} for seed ${view.seedId}`);
    const failure = view.failure ?? failed.get(view.moduleId);
    grafts.attach({
      seedId: view.seedId,
      slotId: view.slotId,
      module,
      stage: view.stage,
      alpha: view.alpha,
      ...(failure !== undefined ? { failure } : {}),
    });
  }
  tf.tidy(() => {
    // Copies: the shared buffers are rewritten by the next step, and a backend may keep what it was given.
    for (const entry of current.weights)
      variables
        .get(entry.key)!
        .assign(tf.tensor(weights.slice(entry.offset, entry.offset + entry.size), entry.shape as number[]));
    const size = message.size;
    const x = tf.tensor(input.slice(0, size * features), [size, ...init.inputShape]);
    const shardLabels = labels.slice(0, size);
    const oneHot = tf.oneHot(tf.tensor1d(shardLabels, 'int32'), init.classes).toFloat();
    const trained = current.grads.map((entry) => variables.get(entry.key)!);
    const result = shardGradients(host, trained, x, oneHot, shardLabels, grafts, message.weight);
    for (const [i, entry] of current.grads.entries()) {
      const grad = result.grads[trained[i]!.name];
      if (grad) grads.set(grad.dataSync() as Float32Array, entry.offset);
      else grads.fill(0, entry.offset, entry.offset + entry.size);
    }
    results[0] = result.loss.dataSync()[0]!;
    results[1] = result.correct.dataSync()[0]!;
  });
  for (const graft of grafts.all()) {
    if (graft.failure === undefined || failed.has(moduleIdOf(message, graft.seedId))) continue;
    failed.set(moduleIdOf(message, graft.seedId), graft.failure);
    send({ kind: 'module_failed', seedId: graft.seedId, message: graft.failure });
  }
}

const moduleIdOf = (message: Extract<ToReplica, { kind: 'step' }>, seedId: string): number =>
  message.grafts.find((view) => view.seedId === seedId)!.moduleId;

parentPort?.postMessage({ kind: 'ready', replica: init.replica } satisfies FromReplica);

const failStep = (seq: number, error: unknown): void => {
  send({ kind: 'step_failed', seq, message: error instanceof Error ? error.message : String(error) });
  Atomics.store(control, CONTROL.status, 1);
};

// The step loop: sleep until the training thread asks for a step, read what it posted, answer through memory.
let seen = 0;
for (;;) {
  Atomics.wait(control, CONTROL.seq, seen);
  const target = Atomics.load(control, CONTROL.seq);
  let answered = false;
  for (let message = receiveMessageOnPort(port); message; message = receiveMessageOnPort(port)) {
    const request = message.message as ToReplica;
    try {
      if (request.kind === 'layout') adopt(request);
      else {
        step(request);
        Atomics.store(control, CONTROL.status, 0);
      }
    } catch (error) {
      failStep(request.kind === 'step' ? request.seq : target, error);
      if (request.kind === 'layout') answered = true;
    }
    if (request.kind === 'step' && request.seq === target) answered = true;
  }
  // The wake-up can come before its message is readable: look again shortly.
  if (!answered) {
    Atomics.wait(control, CONTROL.seq, target, 1);
    continue;
  }
  seen = target;
  Atomics.store(control, CONTROL.done, target);
  Atomics.notify(control, CONTROL.done);
}
