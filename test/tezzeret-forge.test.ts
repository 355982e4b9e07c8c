// The forge and its compile-job actors, with a scripted compile runner (the worker pool has its own tests):
// concurrency limit, retries with backoff, timeouts, breaker with half-open probing, conservative strategy,
// journal resume, bad requests, one failing job not stopping the others.
import test from 'ava';
import { createHash } from 'node:crypto';
import { leyline, type v1 } from '../contracts/index.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { forgeLogic, type ForgeSettings } from '../actors/tezzeret/forge.ts';
import { midpointParameters } from '../actors/karn/index.ts';
import { JobJournal, jobIdFor } from '../actors/tezzeret/job-journal.ts';
import { COMPILE_JOB_SPEC } from '../actors/tezzeret/compile-job.ts';
import type { CompileOutput, CompileTask } from '../actors/tezzeret/compile-task.ts';
import type { CompiledKernel, KernelStore } from '../actors/tezzeret/ports.ts';
import { CompileTimeoutError, type CompileRunner } from '../actors/tezzeret/worker-pool.ts';
import { testSystem } from './helpers/actors.ts';
import { EventLog, gate } from './helpers/events.ts';

const { CompileStrategy, BlueprintTier } = leyline;

const descriptor = (id: string): v1.BlueprintDescriptor =>
  leyline.BlueprintDescriptor.create({
    blueprintId: id,
    name: `blueprint_${id}`,
    tier: BlueprintTier.BLUEPRINT_TIER_SAFE,
    allowedParameters: { scale: leyline.BlueprintParameterBounds.create({ minValue: 0.5, maxValue: 2 }) },
  });
const catalogOf = (...ids: string[]) => {
  const map = new Map(ids.map((id) => [id, descriptor(id)]));
  return { get: (id: string) => map.get(id) ?? null, all: () => map.values() };
};

class MemoryStore implements KernelStore {
  readonly saved: CompiledKernel[] = [];
  has(blueprintId: string, slot: { dims: readonly number[] }): boolean {
    return this.saved.some(
      (k) => k.descriptor.blueprintId === blueprintId && k.slot.dims.join('x') === slot.dims.join('x'),
    );
  }
  save(kernel: CompiledKernel): void {
    this.saved.push(kernel);
  }
}

type Script = (task: CompileTask, call: number) => Promise<CompileOutput>;

class ScriptedRunner implements CompileRunner {
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly tasks = new EventLog<CompileTask>();
  constructor(private readonly script: Script) {}
  async run(task: CompileTask): Promise<CompileOutput> {
    this.calls += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.tasks.push(task);
    try {
      return await this.script(task, this.calls);
    } finally {
      this.inFlight -= 1;
    }
  }
}

const output = (seed = 'x'): CompileOutput => ({
  artifact: new TextEncoder().encode(`artifact-${seed}`),
  family: 'residual_mlp',
  fallbackFrom: '',
  compileMs: 3,
  prewarmSamplesMs: [1, 2, 3],
  guardDigest: 'digest',
  guardSummary: 'float32[8x32]',
  backend: 'cpu',
});

function forge(runner: CompileRunner, overrides: Partial<ForgeSettings> = {}) {
  const system = testSystem();
  const store = overrides.store ?? new MemoryStore();
  const journal = overrides.journal ?? new JobJournal(':memory:');
  const settings: ForgeSettings = {
    system,
    catalog: catalogOf('BP001', 'BP002', 'BP003', 'BP004'),
    journal,
    openRunner: () => runner,
    timeoutMs: 1_000,
    maxRetries: 0,
    retryBaseMs: 5,
    prewarmSamples: 3,
    backend: 'cpu',
    batch: 8,
    concurrency: 2,
    breakerThreshold: 3,
    breakerTimeoutMs: 30,
    telemetry: null,
    telemetryIntervalMs: 1_000,
    ...overrides,
    store,
  };
  const ref = system.spawn(null, forgeLogic(settings), { name: 'forge' }) as ActorRef<v1.CompileRequest>;
  const compile = (blueprintId: string, dims = [32]) =>
    system.ask(
      ref,
      leyline.CompileRequest.create({ blueprintId, slot: leyline.SlotShape.create({ dims }) }),
      leyline.CompileResult,
      10_000,
    );
  return { system, store: store as MemoryStore, journal, ref, compile, forgePath: ref.path };
}

test('a request is compiled, stored once, answered; the same request again is "already stored"', async (t) => {
  const runner = new ScriptedRunner(async () => output('a'));
  const { system, store, compile } = forge(runner);
  const result = await compile('BP002');
  t.true(result.ok, result.error);
  t.is(result.moduleFamily, 'residual_mlp');
  t.is(result.attempts, 1);
  t.is(result.update?.checksum, createHash('sha256').update('artifact-a').digest('hex'));
  t.is(result.update?.prewarmMs, 2, 'prewarm_ms is the median of the samples');
  t.is(result.update?.guardDigest, 'digest');
  t.is(store.saved.length, 1);
  t.deepEqual(store.saved[0]?.parameters, { scale: 1.25 }, 'midpoint parameters by default');
  t.deepEqual(runner.tasks.seen[0]?.slotDims, [32]);
  const again = await compile('BP002');
  t.true(again.ok);
  t.true(again.alreadyStored);
  t.is(runner.calls, 1);
  await system.shutdown();
});

test('at most `concurrency` jobs run at once; the rest wait their turn', async (t) => {
  const release = gate();
  const runner = new ScriptedRunner(async (task) => {
    await release.promise;
    return output(String(task.slotDims));
  });
  const { system, compile } = forge(runner, { concurrency: 2 });
  const results = Promise.all(['BP001', 'BP002', 'BP003', 'BP004'].map((id) => compile(id)));
  await runner.tasks.waitFor(() => runner.tasks.seen.length === 2);
  t.is(runner.inFlight, 2);
  release.open();
  t.true((await results).every((r) => r.ok));
  t.is(runner.maxInFlight, 2);
  await system.shutdown();
});

test('a failing attempt is retried with backoff; a job that keeps timing out fails as timed out', async (t) => {
  const flaky = new ScriptedRunner(async (_task, call) => {
    if (call < 3) throw new Error(`transient ${call}`);
    return output();
  });
  const first = forge(flaky, { maxRetries: 2 });
  const ok = await first.compile('BP001');
  t.true(ok.ok);
  t.is(ok.attempts, 3);
  await first.system.shutdown();

  const hanging = new ScriptedRunner(async () => {
    throw new CompileTimeoutError(10);
  });
  const second = forge(hanging, { maxRetries: 1 });
  const failed = await second.compile('BP001');
  t.false(failed.ok);
  t.true(failed.timedOut);
  t.is(failed.attempts, 2);
  t.regex(failed.error, /CompileTimeoutError: compile did not finish within 10 ms/);
  await second.system.shutdown();
});

test('repeated failures open the breaker and switch to the conservative strategy; a probe closes it again', async (t) => {
  let failing = true;
  const runner = new ScriptedRunner(async () => {
    if (failing) throw new Error('compiler broken');
    return output();
  });
  const { system, compile } = forge(runner, { breakerThreshold: 2, concurrency: 1, breakerTimeoutMs: 40 });
  t.false((await compile('BP001')).ok);
  t.false((await compile('BP002')).ok);
  // The breaker is open now: the next job waits for the probe, and it runs conservatively.
  failing = false;
  const probe = await compile('BP003');
  t.true(probe.ok);
  t.is(probe.strategy, CompileStrategy.COMPILE_STRATEGY_CONSERVATIVE);
  t.is(runner.tasks.seen[2]?.prewarmSamples, 1, 'conservative: one pre-warm sample');
  const after = await compile('BP004');
  t.is(after.strategy, CompileStrategy.COMPILE_STRATEGY_STANDARD, 'a success leaves conservative mode');
  t.is(system.inspectState('/forge').breaker, 'CIRCUIT_STATE_CLOSED');
  await system.shutdown();
});

test('bad requests are refused at once with the problem named', async (t) => {
  const runner = new ScriptedRunner(async () => output());
  const { system, compile } = forge(runner);
  const unknown = await compile('BP999');
  t.false(unknown.ok);
  t.regex(unknown.error, /unknown blueprint "BP999"/);
  t.regex((await compile('BP001', [4, 4])).error, /slot shape must be \[D\] or \[H, W, C\], got \[4, 4\]/);
  t.regex((await compile('BP001', [0])).error, /slot dimensions must be positive integers/);
  t.is(runner.calls, 0);
  await system.shutdown();
});

test('one failing job does not stop the others', async (t) => {
  const runner = new ScriptedRunner(async (task) => {
    const id = leyline.BlueprintDescriptor.decode(task.descriptor).blueprintId;
    if (id === 'BP002') throw new Error('this one is broken');
    return output(id);
  });
  const { system, compile } = forge(runner, { breakerThreshold: 5 });
  const results = await Promise.all(['BP001', 'BP002', 'BP003', 'BP004'].map((id) => compile(id)));
  t.deepEqual(
    results.map((r) => r.ok),
    [true, false, true, true],
  );
  await system.shutdown();
});

test("an interrupted forge resumes the journal's unfinished jobs when it starts again", async (t) => {
  const journal = new JobJournal(':memory:');
  const jobId = jobIdFor('BP003', [32], midpointParameters(descriptor('BP003')));
  journal.record({ jobId, blueprintId: 'BP003', slotDims: [32], parameters: { scale: 1.25 } });
  journal.started(jobId);
  const finished = new EventLog<string>();
  journal.onFinished((job) => finished.push(`${job.jobId}:${job.state}`));
  const runner = new ScriptedRunner(async () => output('resumed'));
  const { system, store } = forge(runner, { journal });
  const resumed = (await finished.waitFor(() => true)).split(':').at(-1);
  t.is(resumed, 'succeeded');
  t.is(store.saved[0]?.descriptor.blueprintId, 'BP003');
  t.is(journal.get(jobId)?.attempts, 2, 'the interrupted attempt and the resumed one');
  await system.shutdown();
});

test('a kernel store that cannot answer is not taken for "missing": the request is refused, nothing compiled', async (t) => {
  const runner = new ScriptedRunner(async () => output());
  const unavailable: KernelStore = {
    has: () => {
      throw new Error('breaker open');
    },
    save: () => undefined,
  };
  const { system, compile } = forge(runner, { store: unavailable });
  const result = await compile('BP001');
  t.false(result.ok);
  t.regex(result.error, /kernel store unavailable, not compiling blind: Error: breaker open/);
  t.is(runner.calls, 0);
  await system.shutdown();
});

test('stopping the forge answers its askers at once; the job stays in the journal for the next start', async (t) => {
  const never = gate();
  const runner = new ScriptedRunner(async () => {
    await never.promise;
    return output();
  });
  const { system, ref, journal, compile } = forge(runner);
  const asked = compile('BP001');
  await runner.tasks.waitFor(() => true);
  await system.stop(ref);
  const answer = await asked;
  t.false(answer.ok);
  t.regex(answer.error, /the forge stopped/);
  t.is(journal.unfinished().length, 1);
  never.open();
  await system.shutdown();
});

/** A journal that cannot record a job's start `failures` times (a locked database): the job actor itself crashes. */
class LockedJournal extends JobJournal {
  crashes = 0;
  constructor(private failures: number) {
    super(':memory:');
  }
  override started(jobId: string): void {
    if (this.failures > 0) {
      this.failures -= 1;
      this.crashes += 1;
      throw new Error('SQLITE_BUSY: database is locked');
    }
    super.started(jobId);
  }
}
const quickJobs = { ...COMPILE_JOB_SPEC, backoff: { baseMs: 5, maxMs: 20, jitter: 0, stableMs: 60_000 } };

test('a compile job that crashes is restarted by its spec and its job still completes', async (t) => {
  const runner = new ScriptedRunner(async () => output('after-crash'));
  const journal = new LockedJournal(1);
  const { system, store, compile } = forge(runner, { journal, jobSpec: quickJobs });
  const result = await compile('BP001');
  t.true(result.ok, result.error);
  t.is(journal.crashes, 1);
  t.is(runner.calls, 1, 'the restarted job compiled once');
  t.is(store.saved.length, 1);
  await system.shutdown();
});

test('a compile job that crashes at every try is retried, then its request is answered with the failure', async (t) => {
  const runner = new ScriptedRunner(async () => output());
  const journal = new LockedJournal(Number.POSITIVE_INFINITY);
  const { system, compile, forgePath } = forge(runner, { journal, jobSpec: quickJobs });
  const result = await compile('BP001');
  t.false(result.ok);
  t.regex(result.error, /^compile job crashed \(restarted 2 times\): .*SQLITE_BUSY: database is locked/);
  t.is(journal.crashes, 1 + quickJobs.intensity, 'the first try and one per restart');
  t.is(journal.get(result.jobId)?.state, 'failed');
  t.deepEqual(
    system
      .tree()
      .filter((w) => w.path.startsWith(`${forgePath}/`))
      .map((w) => w.path),
    [],
    'no job actor left behind',
  );
  await system.shutdown();
});
