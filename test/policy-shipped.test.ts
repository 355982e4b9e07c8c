// The policy shipped in the package (policies/): written and read back through its manifest; a tampered, truncated or
// missing file, or a manifest with a bad field, is refused by name; `esper run`'s default falls back to the heuristic
// then, saying why; a manifest naming the random seed `seed` (an earlier version's) still loads; and the package's own
// policy loads, its checksum holds and its graph schema is this build's.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureContext } from '../contracts/signing.ts';
import { HEURISTIC_POLICY, resolvePolicy } from '../actors/tamiyo/index.ts';
import {
  graphSchema,
  loadShippedPolicy,
  SHIPPED_POLICY_MANIFEST,
  ShippedPolicyError,
  TamiyoGnn,
  writeShippedPolicy,
} from '../policy/index.ts';

const signing = new SignatureContext('policy-shipped-test');
const about = {
  version: 'growth-test',
  curriculum: 'experiments/growth-curriculum.ts',
  rngSeed: 1,
  rounds: 2,
  command: 'npx esper learn experiments/growth-curriculum.ts --rng-seed 1 --rounds 2',
};

function shipped(): { dir: string; manifest: string; weights: string } {
  const dir = mkdtempSync(join(tmpdir(), 'esper-shipped-'));
  const gnn = new TamiyoGnn(undefined, 3);
  writeShippedPolicy(dir, 'growth', gnn.exportWeights(), {
    ...about,
    heldOut: [{ task: 't', policy: 'learned', testAccuracy: 80, addedParameters: 100 }],
  });
  gnn.dispose();
  return { dir, manifest: join(dir, 'growth.json'), weights: join(dir, 'growth.pb') };
}

const settings = { policy: { kind: 'shipped' as const }, mode: 'greedy' as const, temperature: 1 };

test('a shipped policy reads back: its weights, and a manifest with the graph schema of this build and the SHA-256', (t) => {
  const { dir, manifest } = shipped();
  const loaded = loadShippedPolicy(manifest);
  t.like(loaded.manifest, { ...about, file: 'growth.pb', graphSchema: graphSchema() });
  t.regex(loaded.manifest.sha256, /^[0-9a-f]{64}$/);
  t.is(loaded.weights.architecture, 'tamiyo_gnn_v2');
  const warnings: string[] = [];
  t.like(
    resolvePolicy(settings, signing, (m) => warnings.push(m), manifest),
    { version: 'growth-test', kind: 'network', mode: 'greedy' },
  );
  t.deepEqual(warnings, []);
  rmSync(dir, { recursive: true });
});

test('a tampered or truncated weights file is refused naming it; the default then decides with the heuristic and says so', (t) => {
  const { dir, manifest, weights } = shipped();
  const bytes = readFileSync(weights);
  for (const broken of [
    Buffer.concat([bytes.subarray(0, 100), Buffer.from([bytes[100]! ^ 1]), bytes.subarray(101)]),
    bytes.subarray(0, bytes.length - 7),
  ]) {
    writeFileSync(weights, broken);
    const error = t.throws(() => loadShippedPolicy(manifest), { instanceOf: ShippedPolicyError });
    t.true(error?.message.includes(weights), error?.message);
    t.regex(error?.message ?? '', /SHA-256 [0-9a-f]{64} is not the manifest's/);
    const warnings: string[] = [];
    t.is(
      resolvePolicy(settings, signing, (m) => warnings.push(m), manifest),
      HEURISTIC_POLICY,
    );
    t.is(warnings.length, 1);
    t.regex(warnings[0]!, /shipped policy .*growth\.pb: SHA-256 .*; deciding with the heuristic$/);
  }
  rmSync(dir, { recursive: true });
});

test('a manifest with a bad field, a missing weights file or another graph schema: named, and the heuristic decides', (t) => {
  const { dir, manifest, weights } = shipped();
  const good = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  writeFileSync(manifest, JSON.stringify({ ...good, sha256: 'abc', rngSeed: -1 }));
  t.throws(() => loadShippedPolicy(manifest), {
    message: /growth\.json: sha256: expected 64 hex digits, got "abc"; rngSeed: expected an integer ≥ 0, got -1$/,
  });
  writeFileSync(manifest, '{ not json');
  t.throws(() => loadShippedPolicy(manifest), { message: /growth\.json: not JSON/ });

  writeFileSync(manifest, JSON.stringify({ ...good, graphSchema: 'tamiyo_gnn_v1; nodes global:10' }));
  const warnings: string[] = [];
  t.is(
    resolvePolicy(settings, signing, (m) => warnings.push(m), manifest),
    HEURISTIC_POLICY,
  );
  t.regex(
    warnings[0] ?? '',
    /growth\.json expects another graph \(tamiyo_gnn_v1; nodes global:10\); deciding with the heuristic/,
  );

  writeFileSync(manifest, JSON.stringify(good));
  rmSync(weights);
  t.throws(() => loadShippedPolicy(manifest), {
    instanceOf: ShippedPolicyError,
    message: /growth\.pb: no such file \(named by the manifest\)/,
  });
  rmSync(dir, { recursive: true });
});

test("the package's shipped policy loads: its checksum holds, its graph schema is this build's, and it was learned on the default curriculum", (t) => {
  const { manifest, weights } = loadShippedPolicy(SHIPPED_POLICY_MANIFEST);
  t.is(manifest.graphSchema, graphSchema());
  t.is(manifest.curriculum, 'experiments/growth-curriculum.ts');
  t.regex(manifest.command, /^npx esper learn experiments\/growth-curriculum\.ts /);
  t.is(weights.architecture, 'tamiyo_gnn_v2');
  const learned = (manifest.heldOut ?? []).filter((r) => r.policy === 'learned');
  t.true(learned.length > 0, 'the held-out table it was judged by');
});

test('a manifest written while the random seed was `seed` (an earlier esper learn --ship) still loads, its seed read as rngSeed', (t) => {
  const { dir, manifest } = shipped();
  const { rngSeed, ...rest } = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  writeFileSync(manifest, JSON.stringify({ ...rest, seed: rngSeed }));
  const loaded = loadShippedPolicy(manifest).manifest;
  t.is(loaded.rngSeed, 1);
  t.false('seed' in loaded);
  rmSync(dir, { recursive: true });
});
