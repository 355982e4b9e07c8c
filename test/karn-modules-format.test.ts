// Blueprint modules: guard spec/digest/summary goldens, slot validation, serialisation round trips and format errors.
import test from 'ava';
import { pack } from 'msgpackr';
import { leyline } from '../contracts/index.ts';
import {
  buildModule,
  deserializeModule,
  guardDigest,
  guardSpec,
  guardSummary,
  ModuleFormatError,
  pythonJson,
  serializeModule,
  slotKind,
  SlotSpecError,
  type GuardSpecEntry,
} from '../blueprints/index.ts';
import { selectTensorBackend, tf } from '../tensor/index.ts';

test.before(async () => {
  await selectTensorBackend('cpu');
});

const descriptor = (name: string, blueprintId = 'BP-T') => leyline.BlueprintDescriptor.create({ blueprintId, name });

test('guard spec, digest and summary for a dense [32] slot match the prototype golden', (t) => {
  const spec = guardSpec({ dims: [32] });
  t.is(
    pythonJson(spec),
    '[{"dtype": "float32", "index": 0, "requires_grad": false, "shape": [8, 32], "stride": [32, 1]}]',
  );
  t.is(guardDigest(spec), 'c0e3ed3adc7800b37bf6f90a7156046c87111dcef83232afad8a9e0addde055f');
  t.is(guardSummary(spec), 'float32[8x32]');
});

test('the digest formatter matches the prototype for an NCHW [8,8,16,16] spec built directly', (t) => {
  const spec: GuardSpecEntry[] = [
    { index: 0, shape: [8, 8, 16, 16], dtype: 'float32', stride: [2048, 256, 16, 1], requires_grad: false },
  ];
  t.is(guardDigest(spec), 'b2fd2f05c3298470835b454526892d28cae85e9c429091891d8b2429bfddf46a');
  t.is(guardSummary(spec), 'float32[8x8x16x16]');
});

test('guard spec of a conv slot is [batch, H, W, C] with row-major strides', (t) => {
  const [entry] = guardSpec({ dims: [8, 8, 4] }, 2);
  t.deepEqual(entry!.shape, [2, 8, 8, 4]);
  t.deepEqual(entry!.stride, [256, 32, 4, 1]);
  t.is(guardSummary(guardSpec({ dims: [8, 8, 4] })), 'float32[8x8x8x4]');
});

test('pythonJson sorts keys, escapes non-ASCII and uses Python separators', (t) => {
  t.is(pythonJson({ b: 1, a: [true, null, 'é"'] }), '{"a": [true, null, "\\u00e9\\""], "b": 1}');
});

test('slotKind: [D] is dense, [H, W, C] is conv; other shapes throw SlotSpecError naming the problem', (t) => {
  t.is(slotKind({ dims: [32] }), 'dense');
  t.is(slotKind({ dims: [8, 8, 4] }), 'conv');
  t.throws(() => slotKind({ dims: [] }), { instanceOf: SlotSpecError, message: /got 0/ });
  t.throws(() => slotKind({ dims: [4, 4] }), { instanceOf: SlotSpecError, message: /got 2/ });
  t.throws(() => slotKind({ dims: [0] }), { instanceOf: SlotSpecError, message: /positive integer/ });
  t.throws(() => slotKind({ dims: [8, -8, 4] }), { instanceOf: SlotSpecError, message: /positive integer/ });
  t.throws(() => slotKind({ dims: [2.5] }), { instanceOf: SlotSpecError, message: /positive integer/ });
  t.throws(() => buildModule(descriptor('residual_block'), {}, { dims: [3, 3] }), { instanceOf: SlotSpecError });
  t.throws(() => guardSpec({ dims: [] }), { instanceOf: SlotSpecError });
});

test('apply rejects an input whose shape is not [B, ...slot dims]', (t) => {
  const module = buildModule(descriptor('residual_block'), { depth: 1 }, { dims: [32] }, { rngSeed: 1 });
  const wrong = tf.zeros([2, 16]);
  t.throws(() => module.apply(wrong), { message: /takes \[B, 32\], got \[2, 16\]/ });
  wrong.dispose();
  module.dispose();
});

test('serialize → deserialize gives identical outputs and variables of its own', (t) => {
  for (const slot of [{ dims: [32] }, { dims: [8, 8, 4] }]) {
    const original = buildModule(descriptor('residual_block', 'BP009'), { depth: 2.5 }, slot, { rngSeed: 7 });
    // Move the zero-initialised projections off zero so the outputs say something about every weight.
    for (const variable of original.variables.values()) {
      tf.tidy(() => variable.assign(variable.add(tf.randomNormal(variable.shape, 0, 0.1, 'float32', 3))));
    }
    const bytes = serializeModule(original);
    const copy = deserializeModule(bytes);
    t.is(copy.blueprintId, 'BP009');
    t.is(copy.family, original.family);
    t.deepEqual(copy.parameters, original.parameters);
    t.deepEqual([...copy.slot.dims], slot.dims);
    const x = tf.randomNormal([3, ...slot.dims], 0, 1, 'float32', 11);
    const a = original.apply(x);
    const b = copy.apply(x);
    t.deepEqual(a.dataSync(), b.dataSync());

    // Each deserialisation owns its variables: changing one module leaves the other as it was.
    const second = deserializeModule(bytes);
    for (const [name, variable] of copy.variables) {
      t.not(variable, original.variables.get(name));
      t.not(variable, second.variables.get(name));
    }
    for (const variable of copy.variables.values()) tf.tidy(() => variable.assign(tf.zerosLike(variable)));
    const c = original.apply(x);
    const d = second.apply(x);
    t.deepEqual(c.dataSync(), a.dataSync());
    t.deepEqual(d.dataSync(), a.dataSync());
    tf.dispose([x, a, b, c, d]);
    for (const module of [original, copy, second]) module.dispose();
  }
});

test('malformed, truncated or foreign bytes throw ModuleFormatError naming the problem', (t) => {
  const module = buildModule(descriptor('residual_block'), { depth: 1 }, { dims: [32] }, { rngSeed: 1 });
  const bytes = serializeModule(module);
  module.dispose();
  const before = tf.memory().numTensors;
  t.throws(() => deserializeModule(new Uint8Array()), { instanceOf: ModuleFormatError, message: /no bytes/ });
  t.throws(() => deserializeModule(bytes.subarray(0, bytes.length - 10)), {
    instanceOf: ModuleFormatError,
    message: /undecodable/,
  });
  t.throws(() => deserializeModule(pack([1, 2, 3])), { instanceOf: ModuleFormatError, message: /not a map/ });
  t.throws(() => deserializeModule(pack({ format: 99 })), {
    instanceOf: ModuleFormatError,
    message: /unknown format 99/,
  });
  const base = {
    format: 1,
    blueprintId: 'x',
    family: 'residual_mlp',
    fallbackFrom: '',
    slot: { dims: [32] },
    parameters: { depth: 1 },
  };
  t.throws(() => deserializeModule(pack({ ...base, family: 'warp_drive', weights: {} })), {
    instanceOf: ModuleFormatError,
    message: /unknown family "warp_drive"/,
  });
  t.throws(() => deserializeModule(pack({ ...base, slot: { dims: [4, 4] }, weights: {} })), {
    instanceOf: ModuleFormatError,
    message: /bad slot dims/,
  });
  t.throws(() => deserializeModule(pack({ ...base, weights: {} })), {
    instanceOf: ModuleFormatError,
    message: /do not match/,
  });
  const weights = {
    'block0.in.weight': { shape: [32, 32], trainable: true, data: new Float32Array(32 * 32) },
    'block0.in.bias': { shape: [32], trainable: true, data: new Float32Array(32) },
    'block0.out.weight': { shape: [32, 32], trainable: true, data: new Float32Array(10) },
    'block0.out.bias': { shape: [32], trainable: true, data: new Float32Array(32) },
  };
  t.throws(() => deserializeModule(pack({ ...base, weights })), {
    instanceOf: ModuleFormatError,
    message: /holds 10 values/,
  });
  t.is(tf.memory().numTensors, before, 'a rejected buffer leaves no tensors behind');
});
