// Worker-thread entry of WorkerPolicyRunner: one policy instance with its own TensorFlow.js, answering one request
// at a time (init, decide, memory).
import { parentPort } from 'node:worker_threads';
import { leyline } from '../../contracts/index.ts';
import { decodeLeyline, encodeLeyline } from '../../contracts/codec.ts';
import { describeError } from '../../runtime/errors.ts';
import { selectTensorBackend, type BackendPreference } from '../../tensor/index.ts';
import { PolicyInstance, type PolicyWorld } from '../../policy/index.ts';
import { fromWire, type ThreadReply, type ThreadRequest } from './policy-runner.ts';

const port = parentPort;
if (!port) throw new Error('policy-thread.ts must run in a worker thread');

let instance: PolicyInstance | null = null;
let lastWorld: PolicyWorld | null = null;

// Decisions are rare (one per control boundary). An idle thread's code goes cold (V8 ages out code that does not
// run), and a cold decision costs several times a warm one, so between decisions the thread rehearses one
// (PolicyInstance.warmUp: nothing kept) every KEEP_WARM_MS, on the core the training thread does not use.
const KEEP_WARM_MS = 100;
setInterval(() => {
  if (instance && lastWorld) instance.warmUp(lastWorld, [1]);
}, KEEP_WARM_MS).unref();

async function handle(request: ThreadRequest): Promise<ThreadReply> {
  if (request.kind === 'init') {
    await selectTensorBackend(request.backend as BackendPreference);
    const weights = request.weights ? decodeLeyline(leyline.PolicyWeights, request.weights) : null;
    if (weights && !weights.ok) throw weights.error;
    instance = new PolicyInstance({ ...request.options, weights: weights?.ok ? weights.message : null });
    lastWorld = fromWire(request.world);
    // The rehearsal's decision goes back too, so the caller's side warms its decoder.
    return { ok: true, decision: encodeLeyline(instance.warmUp(lastWorld)) };
  }
  if (!instance) throw new Error('policy thread: not initialised');
  if (request.kind === 'memory') return { ok: true, memory: instance.memory() };
  const packet = decodeLeyline(leyline.SystemStatePacket, request.packet);
  if (!packet.ok) throw packet.error;
  if (request.kind === 'observe') {
    instance.observe(packet.message);
    return { ok: true };
  }
  lastWorld = fromWire(request.world);
  return { ok: true, decision: encodeLeyline(instance.decide(packet.message, lastWorld).decision) };
}

port.on('message', (request: ThreadRequest) => {
  handle(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ ok: false, error: describeError(error) } satisfies ThreadReply),
  );
});
