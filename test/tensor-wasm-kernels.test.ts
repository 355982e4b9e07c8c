// The WASM training kernels (tensor/wasm-kernels) against the CPU backend.
//
// Tolerance: |wasm − cpu| ≤ 1e-4 · max(1, |cpu|) per element, i.e. 1e-4 absolute for values of magnitude up to 1
// and 1e-4 relative above (sums of hundreds of float32 products differ in the last bits between backends).
// Backends are switched within the process, so every test is serial; tensors are made on the active backend and
// data moves between backends only as typed arrays.
import test from 'ava';
import { mulberry32 } from '../runtime/seeded-random.ts';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  installWasmTrainingKernels,
  originalWasmKernel,
  uninstallWasmTrainingKernels,
  UnsupportedConvAttributeError,
  wasmTrainingKernelsInstalled,
} from '../tensor/wasm-kernels/index.ts';

const TOLERANCE = 1e-4;

type Backend = 'cpu' | 'wasm';

interface Input {
  shape: number[];
  values: Float32Array;
}

/** Seeded (mulberry32), so a failure reproduces. */
const random = mulberry32;

function randomInput(shape: number[], next: () => number): Input {
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = next() * 2 - 1;
  return { shape, values };
}

/** Runs `f` on `backend` with the inputs made there, and returns the outputs as arrays (all tensors disposed). */
async function on(
  backend: Backend,
  inputs: Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<{ shape: number[]; values: Float32Array }[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} did not start`);
  await tf.ready();
  const outputs = tf.tidy(() => f(...inputs.map((input) => tf.tensor(input.values, input.shape))));
  const result = outputs.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  tf.dispose(outputs);
  return result;
}

function maxError(actual: Float32Array, expected: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    const err = Math.abs((actual[i] as number) - e) / Math.max(1, Math.abs(e));
    if (!(err <= worst)) worst = err; // NaN propagates as a failure
  }
  return worst;
}

/** Computes `f` on cpu and on wasm (patched) and asserts shapes equal and values within the tolerance. */
async function matchesCpu(
  t: import('ava').ExecutionContext,
  label: string,
  inputs: Input[],
  f: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<void> {
  const expected = await on('cpu', inputs, f);
  const actual = await on('wasm', inputs, f);
  t.is(actual.length, expected.length, label);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    t.deepEqual(a.shape, e.shape, `${label}: output ${i} shape`);
    const err = maxError(a.values, e.values);
    t.true(err <= TOLERANCE, `${label}: output ${i} max scaled error ${err}`);
  }
}

async function wasmDataIds(): Promise<number> {
  await tf.setBackend('wasm');
  return tf.engine().backend.numDataIds();
}

test.before(async () => {
  tf.enableProdMode();
  await tf.setBackend('wasm');
  await tf.ready();
});

test.serial(
  'install replaces BatchMatMul, Conv2DBackpropInput, MaxPoolGrad and adds Conv2DBackpropFilter; uninstall restores the originals',
  (t) => {
    uninstallWasmTrainingKernels();
    const matMulBefore = tf.getKernel(tf.BatchMatMul, 'wasm');
    const fusedBefore = tf.getKernel(tf._FusedMatMul, 'wasm');
    const backpropInputBefore = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
    const maxPoolGradBefore = tf.getKernel(tf.MaxPoolGrad, 'wasm');
    t.truthy(matMulBefore);
    t.truthy(backpropInputBefore, 'tfjs-backend-wasm 4.22 has its own Conv2DBackpropInput');
    t.truthy(maxPoolGradBefore, 'tfjs-backend-wasm 4.22 has its own MaxPoolGrad');
    t.is(
      tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') as tf.KernelConfig | undefined,
      undefined,
      'tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter',
    );
    installWasmTrainingKernels();
    installWasmTrainingKernels(); // idempotent
    t.true(wasmTrainingKernelsInstalled());
    t.not(tf.getKernel(tf.BatchMatMul, 'wasm'), matMulBefore);
    t.not(tf.getKernel(tf._FusedMatMul, 'wasm'), fusedBefore);
    t.truthy(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'));
    t.not(tf.getKernel(tf.Conv2DBackpropInput, 'wasm'), backpropInputBefore);
    t.not(tf.getKernel(tf.MaxPoolGrad, 'wasm'), maxPoolGradBefore);
    // Ours keep the originals' setup, so a backend initialised after install still wires the originals for uninstall.
    t.is(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')?.setupFunc, backpropInputBefore.setupFunc);
    t.is(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.setupFunc, maxPoolGradBefore.setupFunc);
    t.is(originalWasmKernel(tf.BatchMatMul), matMulBefore);
    t.is(originalWasmKernel(tf.Conv2DBackpropInput), backpropInputBefore);
    t.is(originalWasmKernel(tf.MaxPoolGrad), maxPoolGradBefore);
    t.is(originalWasmKernel(tf.Conv2DBackpropFilter), null);
    // The cpu backend's kernels are untouched.
    t.is(tf.getKernel(tf.BatchMatMul, 'cpu')?.backendName, 'cpu');
    uninstallWasmTrainingKernels();
    uninstallWasmTrainingKernels(); // idempotent
    t.false(wasmTrainingKernelsInstalled());
    t.is(tf.getKernel(tf.BatchMatMul, 'wasm'), matMulBefore);
    t.is(tf.getKernel(tf._FusedMatMul, 'wasm'), fusedBefore);
    t.is(tf.getKernel(tf.Conv2DBackpropInput, 'wasm'), backpropInputBefore);
    t.is(tf.getKernel(tf.MaxPoolGrad, 'wasm'), maxPoolGradBefore);
    t.is(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm') as tf.KernelConfig | undefined, undefined);
    t.is(tf.getKernel(tf.DepthwiseConv2dNativeBackpropFilter, 'wasm') as tf.KernelConfig | undefined, undefined);
    t.is(tf.getKernel(tf.DepthwiseConv2dNativeBackpropInput, 'wasm') as tf.KernelConfig | undefined, undefined);
    installWasmTrainingKernels();
    t.truthy(tf.getKernel(tf.DepthwiseConv2dNativeBackpropFilter, 'wasm'));
    t.truthy(tf.getKernel(tf.DepthwiseConv2dNativeBackpropInput, 'wasm'));
  },
);

const matMulCases: { a: number[]; b: number[] }[] = [
  // [m, k] × [k, n] before transposes; the MLP's gradient shapes and odd sizes.
  { a: [64, 784], b: [784, 256] },
  { a: [7, 13], b: [13, 5] },
  { a: [1, 9], b: [9, 1] },
  { a: [3, 4, 6], b: [3, 6, 5] }, // batch
  { a: [2, 3, 5, 7], b: [2, 3, 7, 4] }, // two batch dims
  { a: [1, 5, 7], b: [4, 7, 3] }, // broadcast batch of a
  { a: [4, 5, 7], b: [1, 7, 3] }, // broadcast batch of b
];

/** Swaps the last two dims of a shape (the stored layout of a transposed operand). */
function swapLast(shape: number[]): number[] {
  const s = [...shape];
  const n = s.length;
  [s[n - 2], s[n - 1]] = [s[n - 1]!, s[n - 2]!];
  return s;
}

test.serial('BatchMatMul matches cpu for every transpose combination, with batch dims and broadcast', async (t) => {
  installWasmTrainingKernels();
  const next = random(1);
  const before = await wasmDataIds();
  for (const { a, b } of matMulCases) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const inputs = [
          randomInput(transposeA ? swapLast(a) : a, next),
          randomInput(transposeB ? swapLast(b) : b, next),
        ];
        await matchesCpu(t, `[${a}]×[${b}] tA=${transposeA} tB=${transposeB}`, inputs, (x, y) => [
          tf.matMul(x!, y!, transposeA, transposeB),
        ]);
      }
    }
  }
  t.is(await wasmDataIds(), before, 'no intermediate buffer leaks');
});

test.serial('_FusedMatMul (bias + activation) matches cpu with transposed operands', async (t) => {
  installWasmTrainingKernels();
  const next = random(2);
  for (const transposeA of [false, true]) {
    for (const transposeB of [false, true]) {
      const inputs = [
        randomInput(transposeA ? [31, 17] : [17, 31], next),
        randomInput(transposeB ? [9, 31] : [31, 9], next),
        randomInput([9], next),
      ];
      await matchesCpu(t, `fused tA=${transposeA} tB=${transposeB}`, inputs, (x, y, bias) => [
        tf.fused.matMul({
          a: x as tf.Tensor2D,
          b: y as tf.Tensor2D,
          transposeA,
          transposeB,
          bias: bias!,
          activation: 'relu',
        }),
      ]);
    }
  }
});

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
}

const convCases: ConvCase[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { x: [3, 10, 7, 2], filter: [2, 4, 2, 5], strides: [2, 1], pad: 'same' },
  { x: [1, 12, 12, 6], filter: [5, 5, 6, 3], strides: 2, pad: 1 },
  { x: [4, 28, 28, 1], filter: [3, 3, 1, 8], strides: 1, pad: 'same' }, // the bench CNN
  { x: [2, 6, 6, 4], filter: [1, 1, 4, 7], strides: 1, pad: 'valid' },
];

test.serial('Conv2DBackpropFilter matches cpu for several shapes, strides and paddings', async (t) => {
  installWasmTrainingKernels();
  const next = random(3);
  const before = await wasmDataIds();
  for (const c of convCases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
    const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    const inputs = [randomInput(c.x, next), randomInput(dyShape, next)];
    await matchesCpu(t, `x=[${c.x}] f=[${c.filter}] s=${c.strides} pad=${c.pad}`, inputs, (x, dy) => [
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: x!, dy: dy! }, {
        strides: c.strides,
        pad: c.pad,
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape: c.filter,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    ]);
  }
  t.is(await wasmDataIds(), before, 'no intermediate buffer leaks');
});

test.serial('Conv2DBackpropFilter rejects attributes it does not implement with a clear error', async (t) => {
  installWasmTrainingKernels();
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 4, 4, 2]);
  const dy = tf.zeros([1, 4, 4, 3]);
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] };
  const run = (extra: Record<string, unknown>) => () =>
    tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, ...extra } as unknown as tf.NamedAttrMap);
  t.throws(run({ dataFormat: 'NCHW' }), { instanceOf: UnsupportedConvAttributeError, message: /NHWC/ });
  t.throws(run({ dilations: 2 }), { instanceOf: UnsupportedConvAttributeError, message: /dilation/ });
  tf.dispose([x, dy]);
});

interface BackpropInputCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
}

const backpropInputCases: BackpropInputCase[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [1, 7, 9, 1], filter: [3, 3, 1, 5], strides: 1, pad: 'valid' }, // odd sizes, C_in 1, batch 1
  { x: [3, 9, 9, 2], filter: [3, 3, 2, 4], strides: 2, pad: 'same' },
  { x: [2, 10, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'valid' }, // even size: the last row is never read
  { x: [3, 10, 7, 2], filter: [2, 4, 2, 5], strides: [2, 1], pad: 'same' },
  { x: [1, 12, 12, 6], filter: [5, 5, 6, 3], strides: 2, pad: 1 },
  { x: [2, 6, 6, 4], filter: [1, 1, 4, 7], strides: 2, pad: 'valid' }, // odd positions get no gradient
  {
    x: [2, 7, 6, 3],
    filter: [3, 2, 3, 4],
    strides: [1, 2],
    pad: [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ],
  },
  { x: [4, 14, 14, 8], filter: [3, 3, 8, 16], strides: 1, pad: 'same' }, // the MNIST CNN's second conv
];

test.serial('Conv2DBackpropInput matches cpu for several shapes, strides and paddings', async (t) => {
  installWasmTrainingKernels();
  const next = random(7);
  const before = await wasmDataIds();
  for (const c of backpropInputCases) {
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
    const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    const inputs = [randomInput(dyShape, next), randomInput(c.filter, next)];
    await matchesCpu(
      t,
      `dx x=[${c.x}] f=[${c.filter}] s=${c.strides} pad=${JSON.stringify(c.pad)}`,
      inputs,
      (dy, w) => [
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dy!, filter: w! }, {
          strides: c.strides,
          pad: c.pad,
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ],
    );
  }
  t.is(await wasmDataIds(), before, 'no intermediate buffer leaks');
});

test.serial('Conv2DBackpropInput rejects attributes it does not implement, naming kernel and attribute', async (t) => {
  installWasmTrainingKernels();
  await tf.setBackend('wasm');
  const dy = tf.zeros([1, 4, 4, 3]);
  const w = tf.zeros([3, 3, 2, 3]);
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 4, 4, 2] };
  const run =
    (extra: Record<string, unknown>, inputs: tf.NamedTensorMap = { dy, filter: w }) =>
    () =>
      tf.engine().runKernel(tf.Conv2DBackpropInput, inputs, { ...attrs, ...extra } as unknown as tf.NamedAttrMap);
  t.throws(run({ dataFormat: 'NCHW' }), {
    instanceOf: UnsupportedConvAttributeError,
    message: /Conv2DBackpropInput.*NHWC/,
  });
  t.throws(run({ dilations: 2 }), {
    instanceOf: UnsupportedConvAttributeError,
    message: /Conv2DBackpropInput.*dilation/,
  });
  const dyInt = tf.zeros([1, 4, 4, 3], 'int32');
  t.throws(run({}, { dy: dyInt, filter: w }), {
    instanceOf: UnsupportedConvAttributeError,
    message: /Conv2DBackpropInput.*float32/,
  });
  t.throws(run({ inputShape: [1, 6, 6, 2] }), { message: /Conv2DBackpropInput: dy has shape/ });
  tf.dispose([dy, w, dyInt]);
});

interface PoolCase {
  x: [number, number, number, number];
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const poolCases: PoolCase[] = [
  { x: [4, 28, 28, 8], filterSize: 2, strides: 2, pad: 'valid' }, // the MNIST CNN's first pool
  { x: [4, 14, 14, 16], filterSize: 2, strides: 2, pad: 'valid' }, // and its second
  { x: [1, 7, 9, 1], filterSize: 2, strides: 2, pad: 'valid' }, // odd sizes, C 1, batch 1
  { x: [2, 7, 9, 3], filterSize: 2, strides: 2, pad: 'same' },
  { x: [2, 9, 9, 3], filterSize: 3, strides: 2, pad: 'same' }, // overlapping windows
  { x: [3, 10, 8, 2], filterSize: 3, strides: 2, pad: 'valid' },
  { x: [2, 6, 7, 4], filterSize: 3, strides: 1, pad: 'same' },
  { x: [2, 8, 9, 2], filterSize: [2, 3], strides: [1, 2], pad: 'valid' },
  { x: [2, 9, 9, 2], filterSize: 3, strides: 2, pad: 1, dimRoundingMode: 'ceil' },
];

/** Runs MaxPoolGrad as tf.maxPool's gradient does: the forward output computed on the same backend. */
function maxPoolGradOf(c: PoolCase) {
  return (x: tf.Tensor | undefined, dy: tf.Tensor | undefined): tf.Tensor[] => {
    const y = tf.maxPool(x as tf.Tensor4D, c.filterSize, c.strides, c.pad, c.dimRoundingMode);
    return [
      tf.engine().runKernel(tf.MaxPoolGrad, { dy: dy!, input: x!, output: y }, {
        filterSize: c.filterSize,
        strides: c.strides,
        pad: c.pad,
        dimRoundingMode: c.dimRoundingMode,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    ];
  };
}

function poolDyShape(c: PoolCase): number[] {
  const info = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad, c.dimRoundingMode);
  return [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
}

test.serial('MaxPoolGrad matches cpu for several shapes, windows, strides and paddings', async (t) => {
  installWasmTrainingKernels();
  const next = random(8);
  const before = await wasmDataIds();
  for (const c of poolCases) {
    const label = `maxPoolGrad x=[${c.x}] f=${c.filterSize} s=${c.strides} pad=${c.pad} ${c.dimRoundingMode ?? ''}`;
    await matchesCpu(t, label, [randomInput(c.x, next), randomInput(poolDyShape(c), next)], maxPoolGradOf(c));
  }
  t.is(await wasmDataIds(), before, 'no intermediate buffer leaks');
});

test.serial('MaxPoolGrad sends ties to the first maximum in scan order, as the cpu backend does', async (t) => {
  installWasmTrainingKernels();
  const next = random(9);
  // Three levels (one of them −∞) make ties in nearly every window; with an all −∞ window nothing is passed back.
  const levels = [Number.NEGATIVE_INFINITY, 0, 1];
  for (const c of [poolCases[0]!, poolCases[3]!, poolCases[4]!, poolCases[6]!]) {
    const x = randomInput(c.x, next);
    for (let i = 0; i < x.values.length; i++) x.values[i] = levels[Math.floor(((x.values[i] as number) + 1) * 1.5)]!;
    const label = `ties x=[${c.x}] f=${c.filterSize} s=${c.strides} pad=${c.pad}`;
    await matchesCpu(t, label, [x, randomInput(poolDyShape(c), next)], maxPoolGradOf(c));
  }
  // And by hand: a constant window sends all of dy to its top-left element.
  await tf.setBackend('wasm');
  const dx = tf.tidy(() => maxPoolGradOf(poolCases[2]!)(tf.zeros([1, 7, 9, 1]), tf.ones([1, 3, 4, 1]))[0]!);
  const values = dx.dataSync();
  t.is(values[0], 1);
  t.is(values[1], 0);
  t.is(values[9], 0);
  t.is(values[2], 1);
  dx.dispose();
});

test.serial('MaxPoolGrad rejects inputs it does not implement, naming the kernel', async (t) => {
  installWasmTrainingKernels();
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 4, 4, 2]);
  const dy = tf.zeros([1, 2, 2, 2]);
  const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
  const run =
    (inputs: tf.NamedTensorMap, extra: Record<string, unknown> = {}) =>
    () =>
      tf.engine().runKernel(tf.MaxPoolGrad, inputs, { ...attrs, ...extra } as unknown as tf.NamedAttrMap);
  const xInt = tf.zeros([1, 4, 4, 2], 'int32');
  t.throws(run({ dy, input: xInt, output: dy }), {
    instanceOf: UnsupportedConvAttributeError,
    message: /MaxPoolGrad.*float32/,
  });
  const x3 = tf.zeros([4, 4, 2]);
  t.throws(run({ dy, input: x3, output: dy }), {
    instanceOf: UnsupportedConvAttributeError,
    message: /MaxPoolGrad.*rank-4/,
  });
  t.throws(run({ dy, input: x, output: dy }, { dataFormat: 'NCHW' }), {
    instanceOf: UnsupportedConvAttributeError,
    message: /MaxPoolGrad.*NHWC/,
  });
  t.throws(run({ dy, input: x, output: dy }, { strides: 1 }), { message: /MaxPoolGrad: dy has shape/ });
  tf.dispose([x, dy, xInt, x3]);
});

const depthwiseCases: ConvCase[] = [
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same' },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'valid' },
  { x: [2, 9, 9, 4], filter: [3, 3, 4, 2], strides: 2, pad: 'same' },
  { x: [1, 9, 7, 2], filter: [2, 4, 2, 3], strides: [2, 1], pad: 'valid' },
  { x: [3, 10, 10, 5], filter: [5, 5, 5, 1], strides: 2, pad: 1 },
];

test.serial(
  'DepthwiseConv2dNativeBackpropFilter and BackpropInput match cpu for several shapes, strides and paddings',
  async (t) => {
    installWasmTrainingKernels();
    const next = random(6);
    const before = await wasmDataIds();
    for (const c of depthwiseCases) {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, undefined, true);
      const dyShape = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
      const attrs = { strides: c.strides, pad: c.pad, dilations: 1, dimRoundingMode: undefined };
      const label = `depthwise x=[${c.x}] f=[${c.filter}] s=${c.strides} pad=${c.pad}`;
      await matchesCpu(t, `${label} filter`, [randomInput(c.x, next), randomInput(dyShape, next)], (x, dy) => [
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: x!, dy: dy! }, {
          ...attrs,
          filterShape: c.filter,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ]);
      await matchesCpu(t, `${label} input`, [randomInput(dyShape, next), randomInput(c.filter, next)], (dy, filter) => [
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy: dy!, filter: filter! }, {
          ...attrs,
          inputShape: c.x,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
      ]);
    }
    t.is(await wasmDataIds(), before, 'no intermediate buffer leaks');
  },
);

/** A small conv net's loss; variables are created from the given arrays on the active backend. */
function convNetGrads(xs: tf.Tensor, labels: tf.Tensor, params: tf.Tensor[]): tf.Tensor[] {
  const vars = params.map((p, i) => tf.variable(p, true, `p${i}-${tf.getBackend()}-${Math.random()}`));
  const [w1, b1, w2, dw, wd, bd] = vars as [
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
  ];
  const { grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        let h = tf.relu(tf.add(tf.conv2d(xs as tf.Tensor4D, w1 as unknown as tf.Tensor4D, 1, 'same'), b1));
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
        h = tf.relu(tf.conv2d(h as tf.Tensor4D, w2 as unknown as tf.Tensor4D, 2, 'same'));
        h = tf.avgPool(h as tf.Tensor4D, 2, 1, 'same');
        h = tf.depthwiseConv2d(h as tf.Tensor4D, dw as unknown as tf.Tensor4D, 1, 'same');
        const logits = tf.add(tf.matMul(tf.reshape(h, [h.shape[0]!, -1]), wd), bd);
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      }),
    vars,
  );
  const out = vars.map((v) => grads[v.name]!);
  tf.dispose(vars);
  return out;
}

test.serial(
  'UnsortedSegmentSum matches cpu (ids out of range skipped), and tf.gather has a gradient on wasm',
  async (t) => {
    installWasmTrainingKernels();
    const next = random(17);
    const ids = [3, 0, 3, 1, 7, -1, 0, 2];
    await matchesCpu(t, 'segment sum', [randomInput([8, 5], next)], (x) => [
      tf.unsortedSegmentSum(x!, tf.tensor1d(ids, 'int32'), 4),
    ]);
    await matchesCpu(t, 'gather gradient', [randomInput([4, 3], next)], (x) => [
      tf.grad((v: tf.Tensor) =>
        tf.sum(tf.mul(tf.gather(v, tf.tensor1d([2, 0, 2, 3], 'int32')), tf.range(1, 13).reshape([4, 3]))),
      )(x!),
    ]);
  },
);

test.serial(
  'a small conv net (conv, pools, depthwise conv, dense) trains on wasm after install: variableGrads match cpu',
  async (t) => {
    installWasmTrainingKernels();
    const next = random(4);
    const batch = 6;
    const labels = new Float32Array(batch * 10);
    for (let i = 0; i < batch; i++) labels[i * 10 + (i % 10)] = 1;
    const inputs = [
      randomInput([batch, 12, 12, 1], next),
      { shape: [batch, 10], values: labels },
      randomInput([3, 3, 1, 8], next),
      randomInput([8], next),
      randomInput([3, 3, 8, 4], next),
      randomInput([3, 3, 4, 2], next),
      randomInput([3 * 3 * 8, 10], next),
      randomInput([10], next),
    ];
    await matchesCpu(t, 'conv net grads', inputs, (xs, ys, ...params) => convNetGrads(xs!, ys!, params));
  },
);

/** The MNIST CNN of actors/tolaria (conv 3×3×8 → relu → maxPool 2 → conv 3×3×16 → relu → maxPool 2 → dense 64 → 10). */
function mnistCnnGrads(xs: tf.Tensor, labels: tf.Tensor, params: tf.Tensor[]): tf.Tensor[] {
  const vars = params.map((p, i) => tf.variable(p, true, `cnn${i}-${tf.getBackend()}-${Math.random()}`));
  const [w1, b1, w2, b2, wd, bd, wo, bo] = vars as [
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
    tf.Variable,
  ];
  const { grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        let h = tf.relu(tf.add(tf.conv2d(xs as tf.Tensor4D, w1 as unknown as tf.Tensor4D, 1, 'same'), b1));
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
        h = tf.relu(tf.add(tf.conv2d(h as tf.Tensor4D, w2 as unknown as tf.Tensor4D, 1, 'same'), b2));
        h = tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
        h = tf.relu(tf.add(tf.matMul(tf.reshape(h, [h.shape[0]!, -1]), wd), bd));
        return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(h, wo), bo)) as tf.Scalar;
      }),
    vars,
  );
  const out = vars.map((v) => grads[v.name]!);
  tf.dispose(vars);
  return out;
}

test.serial("the MNIST CNN's variableGrads on wasm match cpu", async (t) => {
  installWasmTrainingKernels();
  const next = random(10);
  const batch = 5;
  const labels = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) labels[i * 10 + ((i * 3) % 10)] = 1;
  const inputs = [
    randomInput([batch, 28, 28, 1], next),
    { shape: [batch, 10], values: labels },
    randomInput([3, 3, 1, 8], next),
    randomInput([8], next),
    randomInput([3, 3, 8, 16], next),
    randomInput([16], next),
    randomInput([7 * 7 * 16, 64], next),
    randomInput([64], next),
    randomInput([64, 10], next),
    randomInput([10], next),
  ];
  await matchesCpu(t, 'MNIST CNN grads', inputs, (xs, ys, ...params) => mnistCnnGrads(xs!, ys!, params));
});

test.serial('without the kernels, the same conv net cannot train on wasm (the gap this module fills)', async (t) => {
  uninstallWasmTrainingKernels();
  try {
    await tf.setBackend('wasm');
    const next = random(5);
    const xs = tf.tensor(randomInput([2, 4, 4, 1], next).values, [2, 4, 4, 1]);
    const w = tf.variable(tf.tensor(randomInput([3, 3, 1, 2], next).values, [3, 3, 1, 2]));
    t.throws(
      () =>
        tf.variableGrads(
          () => tf.sum(tf.conv2d(xs as tf.Tensor4D, w as unknown as tf.Tensor4D, 1, 'same')) as tf.Scalar,
          [w],
        ),
      {
        message: /Conv2DBackpropFilter/,
      },
    );
    tf.dispose([xs, w]);
  } finally {
    installWasmTrainingKernels();
  }
});
