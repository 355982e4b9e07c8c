// Training throughput of Tolaria's hosts on MNIST, the control hook's latency, and the PyTorch CPU anchor.
//
// mlp / cnn: samples/s of Tolaria's own training step (trainStep: forward with the graft table, softmax
//   cross-entropy, gradients, gradient norm, Adam 1e-3, batch 64) on the real MNIST training split, per backend
//   (wasm with the training kernels of tensor/wasm-kernels; the pure-JS cpu backend on fewer steps; tensorflow
//   when @tensorflow/tfjs-node is installed), and the MLP on the unpatched wasm kernels for their ratio. Host MLP 784-256-128-10; CNN conv 3×3×8 → pool → conv 3×3×16 →
//   pool → dense 64 → 10.
// *_n2: the same step on two replicas (actors/tolaria/parallel/: the training thread and one worker thread, each
//   computing half of every batch), the default on this 2-core machine; the plain lines are one replica.
// torch: the same models, batch, optimizer and data in PyTorch CPU (Debian's python3-torch, OPENBLAS_NUM_THREADS=1,
//   2 intra-op threads), as the anchor. PyTorch's speed varies a lot between processes, so both sides run ROUNDS
//   times, interleaved, and the medians are compared. Without python3-torch the anchor lines are skipped, saying so.
// hook: the end-of-epoch control work (SystemStatePacket assembly + Tamiyo ask + Kasmina ask through the actor
//   runtime, with stand-in actors that answer at once), p50 and p95 against the 18 ms design budget.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leyline, type v1 } from '../contracts/index.ts';
import { Batcher, loadIdxDataset, mnistDefaultDir, prepareDataset, type HostConfig } from '../actors/tolaria/index.ts';
import { buildHost } from '../actors/tolaria/host/host-model.ts';
import { GroupedOptimizer } from '../actors/tolaria/optim/grouped-optimizer.ts';
import { ReplicaSet } from '../actors/tolaria/parallel/replica-set.ts';
import { ControlHook } from '../actors/tolaria/trainer/control-hook.ts';
import { trainStep } from '../actors/tolaria/training/epoch.ts';
import { epochSystemState } from '../actors/tolaria/training/system-state.ts';
import { statelessLogic } from '../runtime/logic.ts';
import { installWasmTrainingKernels, uninstallWasmTrainingKernels } from '../tensor/wasm-kernels/index.ts';
import { ActorSystem } from '../runtime/system.ts';
import { selectTensorBackend, tf, type BackendPreference } from '../tensor/index.ts';
import { median, percentile, report } from './report.ts';

const BENCH = 'train';
const ROUNDS = 3;
const HOOK_BUDGET_MS = 18;
const CNN_CHANNELS = [8, 16];
const CNN_DENSE = [64];

const HOSTS: Record<'mlp' | 'cnn', HostConfig> = {
  mlp: { kind: 'mlp', inputs: 784, hidden: [256, 128], classes: 10 },
  cnn: { kind: 'cnn', inputShape: [28, 28, 1], channels: CNN_CHANNELS, dense: CNN_DENSE, classes: 10 },
};
/** Timed steps per round, by backend (the cpu backend is 20–50× slower). */
const STEPS: Record<string, Record<'mlp' | 'cnn', number>> = {
  wasm: { mlp: 300, cnn: 60 },
  tensorflow: { mlp: 300, cnn: 100 },
  cpu: { mlp: 20, cnn: 3 },
};

const data = prepareDataset(loadIdxDataset(), { rngSeed: 1, validationFraction: 0.1 });

/** Samples/s of `steps` training steps (after a warm-up) on `replicas` replicas. */
async function tfjsThroughput(model: 'mlp' | 'cnn', steps: number, replicas = 1): Promise<number> {
  const others =
    replicas > 1
      ? new ReplicaSet({
          replicas,
          host: HOSTS[model],
          rngSeed: 1,
          backend: tf.getBackend(),
          inputShape: [28, 28, 1],
          classes: 10,
          batchSize: 64,
          stepTimeoutMs: 60_000,
        })
      : undefined;
  await others?.ready();
  const host = buildHost(HOSTS[model], 1);
  const optimizer = new GroupedOptimizer({ kind: 'adam', learningRate: 1e-3 });
  optimizer.setGroup('host', host.variables, { step: 0, force: true });
  const batcher = new Batcher(data.train, { batchSize: 64, inputShape: [28, 28, 1], classes: 10, rngSeed: 1 });
  const batches = batcher.epoch(0);
  const next = () => batches.next().value!;
  for (let i = 0; i < Math.min(5, steps); i++) trainStep(host, optimizer, next(), undefined, others);
  const started = performance.now();
  for (let i = 0; i < steps; i++) trainStep(host, optimizer, next(), undefined, others);
  const seconds = (performance.now() - started) / 1000;
  if (others && others.counters.localShards > 0)
    throw new Error(
      `bench train: a replica failed during the n${replicas} run (${others.counters.localShards} shards computed on the training thread)`,
    );
  await others?.dispose();
  batches.return();
  optimizer.dispose();
  host.dispose();
  return (steps * 64) / seconds;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** PyTorch samples/s, or a reason it cannot be measured here. */
function torchThroughput(model: 'mlp' | 'cnn', steps: number): number | string {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const run = spawnSync(PYTHON, [join(here, 'torch-anchor.py'), model, String(steps), mnistDefaultDir()], {
    env: {
      ...process.env,
      OPENBLAS_NUM_THREADS: '1',
      ANCHOR_THREADS: '2',
      ANCHOR_CNN_CHANNELS: CNN_CHANNELS.join(','),
      ANCHOR_CNN_DENSE: CNN_DENSE.join(','),
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (run.status !== 0) {
    return /No module named 'torch'/.test(run.stderr)
      ? 'python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)'
      : `failed: ${run.stderr.trim().split('\n').at(-1)}`;
  }
  return (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { samples_per_s: number }).samples_per_s;
}

async function hookLatency(): Promise<number[]> {
  const system = new ActorSystem({ name: 'bench-hook' });
  const tamiyo = system.spawn(
    null,
    statelessLogic<v1.SystemStatePacket>('tamiyo', (packet, ctx) => {
      ctx.reply(
        leyline.AdaptationCommand.create({
          version: 1,
          commandId: `c-${packet.globalStep}`,
          commandType: leyline.CommandType.COMMAND_SEED,
          targetSeedId: 'seed-1',
        }),
      );
    }),
    { name: 'tamiyo' },
  );
  const kasmina = system.spawn(
    null,
    statelessLogic<v1.AdaptationCommand>('kasmina', (command, ctx) => {
      ctx.reply(
        leyline.AdaptationReceipt.create({
          commandId: command.commandId,
          applied: true,
          seedStates: [leyline.SeedState.create({ seedId: 'seed-1', stage: 3 })],
        }),
      );
    }),
    { name: 'kasmina' },
  );
  const hook = new ControlHook(
    {
      tamiyo: (state, deadline) => system.ask(tamiyo, state, leyline.AdaptationCommand, deadline),
      kasmina: (command, deadline) => system.ask(kasmina, command, leyline.AdaptationReceipt, deadline),
    },
    { tamiyoDeadlineMs: 2_000, kasminaDeadlineMs: 2_000, breakerFailures: 3, breakerOpenMs: 30_000 },
  );
  const slotStats = new Map([
    ['mlp.0', { mean: 0.4, std: 0.6, absMax: 5 }],
    ['mlp.1', { mean: 0.5, std: 0.7, absMax: 6 }],
  ]);
  const latencies: number[] = [];
  for (let i = 0; i < 520; i++) {
    const started = performance.now();
    const state = epochSystemState({
      runId: 'bench',
      experimentName: 'bench',
      epoch: i,
      globalStep: i * 844,
      train: {
        loss: 0.1,
        accuracy: 0.97,
        samples: 54_000,
        steps: 844,
        gradNorm: 1.2,
        seconds: 5,
        samplesPerSecond: 10_800,
      },
      validation: { loss: 0.09, accuracy: 0.975, samples: 6_000 },
      learningRate: 1e-3,
      seedStates: [],
      backend: 'wasm',
      slotStats,
    });
    await hook.run(state, false);
    if (i >= 20) latencies.push(performance.now() - started);
  }
  await system.shutdown();
  return latencies;
}

export async function run(): Promise<void> {
  const backends: BackendPreference[] = ['wasm', 'cpu'];
  try {
    await import('@tensorflow/tfjs-node' as string);
    backends.unshift('tensorflow');
  } catch {
    process.stderr.write('bench train: @tensorflow/tfjs-node is not installed: no tensorflow-backend lines\n');
  }
  const medians: Record<string, number> = {};
  const torch: Record<string, number[]> = { mlp: [], cnn: [] };
  let torchMissing: string | null = null;
  // The first backend is selected as a run would (wasm gets its training kernels); the others are switched to.
  await selectTensorBackend(backends[0]);
  for (const backend of backends) {
    await tf.setBackend(backend);
    for (const model of ['mlp', 'cnn'] as const) {
      const rounds: number[] = [];
      const parallelRounds: number[] = [];
      // Interleaved rounds where the anchor runs; one round on the slower backends.
      for (let round = 0; round < (backend === backends[0] ? ROUNDS : 1); round++) {
        // The anchor runs between TF.js rounds (on the main backend only), so drifts in machine speed hit both.
        if (backend === backends[0] && torchMissing === null) {
          const measured = torchThroughput(model, model === 'mlp' ? 600 : 200);
          if (typeof measured === 'string') torchMissing = measured;
          else torch[model]!.push(measured);
        }
        rounds.push(await tfjsThroughput(model, STEPS[backend]![model]));
        if (backend === 'wasm') parallelRounds.push(await tfjsThroughput(model, STEPS[backend]![model], 2));
      }
      medians[`${backend}.${model}`] = median(rounds);
      report(BENCH, `${model}_train_${backend}`, median(rounds), 'samples/s');
      if (parallelRounds.length > 0) {
        medians[`${backend}_n2.${model}`] = median(parallelRounds);
        report(BENCH, `${model}_train_${backend}_n2_vs_n1`, median(parallelRounds), 'samples/s', median(rounds));
      }
    }
  }
  if (backends.includes('wasm')) {
    // The WASM training kernels' share, in the same run: the MLP on the unpatched tfjs-backend-wasm kernels (the CNN
    // cannot train there at all: no Conv2DBackpropFilter).
    await tf.setBackend('wasm');
    uninstallWasmTrainingKernels();
    const unpatched: number[] = [];
    for (let round = 0; round < ROUNDS; round++) unpatched.push(await tfjsThroughput('mlp', STEPS.wasm!.mlp / 3));
    installWasmTrainingKernels();
    report(BENCH, 'mlp_train_wasm_vs_unpatched_kernels', medians['wasm.mlp']!, 'samples/s', median(unpatched));
  }
  if (torchMissing !== null) process.stderr.write(`bench train: PyTorch anchor skipped: ${torchMissing}\n`);
  else {
    const main = backends[0]!;
    for (const model of ['mlp', 'cnn'] as const) {
      report(BENCH, `torch_${model}_train_cpu`, median(torch[model]!), 'samples/s');
      report(
        BENCH,
        `${model}_train_${main}_vs_torch`,
        medians[`${main}.${model}`]!,
        'samples/s',
        median(torch[model]!),
      );
      const parallel = medians[`${main}_n2.${model}`];
      if (parallel !== undefined)
        report(BENCH, `${model}_train_${main}_n2_vs_torch`, parallel, 'samples/s', median(torch[model]!));
    }
  }
  await tf.setBackend(backends[0]!);
  const hook = await hookLatency();
  report(BENCH, 'epoch_hook_p50_vs_budget', percentile(hook, 50), 'ms', HOOK_BUDGET_MS);
  report(BENCH, 'epoch_hook_p95_vs_budget', percentile(hook, 95), 'ms', HOOK_BUDGET_MS);
}
