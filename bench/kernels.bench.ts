// WASM training kernels (tensor/wasm-kernels): training-step throughput with the patched kernels against the
// unpatched tfjs-backend-wasm 4.22 kernels, measured in the same run (rounds alternate between the two and the
// median of each is reported).
//
// mlp: 784-256-128-10, relu, softmax cross-entropy, SGD, batch 64, random MNIST-shaped data (a tensor per batch from
//      a Float32Array, as docs/architecture.md#tensors-data-and-speed explains). Baseline: the same step on the
//      unpatched wasm kernels.
// cnn: conv 3×3×8 'same' → relu → maxPool 2 → dense 10 on 28×28×1, batch 32. Unpatched wasm cannot train it
//      (no Conv2DBackpropFilter), so the baseline is the pure-JS cpu backend.
// matmul: the MLP's hottest gradient product, [64,784]ᵀ×[64,256], ms per call, patched against unpatched.
// conv2d_backprop_input / max_pool_grad: the MNIST CNN's (bench train's) dx of its second conv and its first pool's
//      gradient at batch 64, ms per call, ours against the backend's own kernels (naive C loops).
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  installWasmTrainingKernels,
  uninstallWasmTrainingKernels,
  wasmTrainingKernelsInstalled,
} from '../tensor/wasm-kernels/index.ts';
import { median, report } from './report.ts';

const BENCH = 'kernels';
const ROUNDS = 5;

/** A deterministic pseudo-random Float32Array in [0, 1) (the bench needs shapes and work, not real pixels). */
function data(length: number, rngSeed: number): Float32Array {
  const out = new Float32Array(length);
  let s = rngSeed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

interface Task {
  /** One optimiser step on batch `i` (tensors built and disposed inside). */
  step(i: number): void;
  /** Forces completion (a read) so the clock covers all queued work. */
  sync(): void;
  dispose(): void;
}

function oneHot(batch: number, classes: number, offset: number): Float32Array {
  const labels = new Float32Array(batch * classes);
  for (let i = 0; i < batch; i++) labels[i * classes + ((i + offset) % classes)] = 1;
  return labels;
}

function dense(inputs: number, outputs: number, rngSeed: number): [tf.Variable, tf.Variable] {
  const scale = Math.sqrt(2 / inputs);
  const w = tf.tidy(() =>
    tf.mul(tf.sub(tf.tensor2d(data(inputs * outputs, rngSeed), [inputs, outputs]), 0.5), scale * 2),
  );
  return [tf.variable(w), tf.variable(tf.zeros([outputs]))];
}

const BATCHES = 8;

function mlpTask(): Task {
  const batch = 64;
  const xs = data(BATCHES * batch * 784, 1);
  const [w1, b1] = dense(784, 256, 2);
  const [w2, b2] = dense(256, 128, 3);
  const [w3, b3] = dense(128, 10, 4);
  const optimizer = tf.train.sgd(0.01);
  return {
    step(i) {
      tf.tidy(() => {
        const k = i % BATCHES;
        const x = tf.tensor2d(xs.subarray(k * batch * 784, (k + 1) * batch * 784), [batch, 784]);
        const y = tf.tensor2d(oneHot(batch, 10, k), [batch, 10]);
        optimizer.minimize(() => {
          const h1 = tf.relu(tf.add(tf.matMul(x, w1), b1));
          const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2));
          return tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(h2, w3), b3)) as tf.Scalar;
        });
      });
    },
    sync: () => void b3.dataSync(),
    dispose: () => {
      tf.dispose([w1, b1, w2, b2, w3, b3]);
      optimizer.dispose();
    },
  };
}

function cnnTask(): Task {
  const batch = 32;
  const xs = data(BATCHES * batch * 784, 5);
  const kernel = tf.variable(tf.tidy(() => tf.mul(tf.sub(tf.tensor4d(data(72, 6), [3, 3, 1, 8]), 0.5), 0.6)));
  const bias = tf.variable(tf.zeros([8]));
  const [wd, bd] = dense(14 * 14 * 8, 10, 7);
  const optimizer = tf.train.sgd(0.01);
  return {
    step(i) {
      tf.tidy(() => {
        const k = i % BATCHES;
        const x = tf.tensor4d(xs.subarray(k * batch * 784, (k + 1) * batch * 784), [batch, 28, 28, 1]);
        const y = tf.tensor2d(oneHot(batch, 10, k), [batch, 10]);
        optimizer.minimize(() => {
          const conv = tf.relu(tf.add(tf.conv2d(x, kernel as tf.Tensor as tf.Tensor4D, 1, 'same'), bias));
          const pooled = tf.maxPool(conv as tf.Tensor4D, 2, 2, 'valid');
          return tf.losses.softmaxCrossEntropy(
            y,
            tf.add(tf.matMul(tf.reshape(pooled, [batch, -1]), wd), bd),
          ) as tf.Scalar;
        });
      });
    },
    sync: () => void bd.dataSync(),
    dispose: () => {
      tf.dispose([kernel, bias, wd, bd]);
      optimizer.dispose();
    },
  };
}

/** Samples per second of `steps` optimiser steps (after `warmup` untimed ones). */
function throughput(task: Task, batch: number, steps: number, warmup = 5): number {
  for (let i = 0; i < warmup; i++) task.step(i);
  task.sync();
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; i++) task.step(i);
  task.sync();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (steps * batch) / seconds;
}

/** Runs `make` → throughput → dispose on `backend`, with the patched kernels installed or not. */
async function measure(
  backend: 'wasm' | 'cpu',
  patched: boolean,
  make: () => Task,
  batch: number,
  steps: number,
): Promise<number> {
  if (patched) installWasmTrainingKernels();
  else uninstallWasmTrainingKernels();
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  await tf.ready();
  const task = make();
  try {
    return throughput(task, batch, steps);
  } finally {
    task.dispose();
  }
}

/** Milliseconds per call of `f` (median over rounds), results disposed. */
function msPerCall(f: () => tf.Tensor, calls = 50): number {
  for (let i = 0; i < 5; i++) f().dispose();
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) f().dispose();
  return Number(process.hrtime.bigint() - start) / 1e6 / calls;
}

export async function run(): Promise<void> {
  tf.enableProdMode();
  const wasInstalled = wasmTrainingKernelsInstalled();
  try {
    // The transposed matmul alone.
    await tf.setBackend('wasm');
    await tf.ready();
    const a = tf.tensor2d(data(64 * 784, 8), [64, 784]);
    const b = tf.tensor2d(data(64 * 256, 9), [64, 256]);
    const matmul = { patched: [] as number[], unpatched: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      installWasmTrainingKernels();
      matmul.patched.push(msPerCall(() => tf.matMul(a, b, true, false)));
      uninstallWasmTrainingKernels();
      matmul.unpatched.push(msPerCall(() => tf.matMul(a, b, true, false)));
    }
    tf.dispose([a, b]);
    report(
      BENCH,
      'matmul_64x784T_x_64x256_ms_patched_vs_unpatched',
      median(matmul.patched),
      'ms',
      median(matmul.unpatched),
    );

    // The CNN's slowest backend kernels, replaced by ours: dx of conv 3×3 8→16 on 14×14, and maxPool 2×2 on 28×28×8.
    const dy = tf.tensor4d(data(64 * 14 * 14 * 16, 10), [64, 14, 14, 16]);
    const filter = tf.tensor4d(data(3 * 3 * 8 * 16, 11), [3, 3, 8, 16]);
    const pooled = tf.tensor4d(data(64 * 28 * 28 * 8, 12), [64, 28, 28, 8]);
    const poolOut = tf.maxPool(pooled, 2, 2, 'valid');
    const poolDy = tf.tensor4d(data(64 * 14 * 14 * 8, 13), [64, 14, 14, 8]);
    const cnnKernels = {
      conv2d_backprop_input_64x14x14x16_3x3x8x16_ms: (): tf.Tensor =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, {
          strides: 1,
          pad: 'same',
          dataFormat: 'NHWC',
          inputShape: [64, 14, 14, 8],
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      max_pool_grad_64x28x28x8_2x2s2_ms: (): tf.Tensor =>
        tf.engine().runKernel(tf.MaxPoolGrad, { dy: poolDy, input: pooled, output: poolOut }, {
          filterSize: 2,
          strides: 2,
          pad: 'valid',
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    };
    for (const [metric, f] of Object.entries(cnnKernels)) {
      const times = { patched: [] as number[], unpatched: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        installWasmTrainingKernels();
        times.patched.push(msPerCall(f, 20));
        uninstallWasmTrainingKernels();
        times.unpatched.push(msPerCall(f, 20));
      }
      report(BENCH, `${metric}_patched_vs_unpatched`, median(times.patched), 'ms', median(times.unpatched));
    }
    tf.dispose([dy, filter, pooled, poolOut, poolDy]);

    const mlp = { patched: [] as number[], unpatched: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      mlp.patched.push(await measure('wasm', true, mlpTask, 64, 200));
      mlp.unpatched.push(await measure('wasm', false, mlpTask, 64, 40));
    }
    report(BENCH, 'mlp_784_256_128_10_train_wasm_unpatched', median(mlp.unpatched), 'samples/s');
    report(
      BENCH,
      'mlp_784_256_128_10_train_wasm_patched_vs_unpatched',
      median(mlp.patched),
      'samples/s',
      median(mlp.unpatched),
    );

    const cnn = { patched: [] as number[], cpu: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      cnn.patched.push(await measure('wasm', true, cnnTask, 32, 60));
      cnn.cpu.push(await measure('cpu', true, cnnTask, 32, 15));
    }
    report(BENCH, 'cnn_conv3x3x8_train_cpu', median(cnn.cpu), 'samples/s');
    report(BENCH, 'cnn_conv3x3x8_train_wasm_patched_vs_cpu', median(cnn.patched), 'samples/s', median(cnn.cpu));
  } finally {
    if (wasInstalled) installWasmTrainingKernels();
    else uninstallWasmTrainingKernels();
  }
}
