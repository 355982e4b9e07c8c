// Tezzeret: compile throughput for the whole catalog (every blueprint that is not quarantine-only, for the
// default slot shapes) with one compile job at a time, then with N = cores at once. Each run starts from an
// empty Urza and journal; time runs from the first request to the last result, worker start-up included.
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { leyline, type v1 } from '../contracts/index.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { ActorSystem } from '../runtime/system.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import { forgeLogic, forgeSettings, JobJournal, TEZZERET_DEFAULTS, urzaKernelStore } from '../actors/tezzeret/index.ts';
import { openUrzaLibrary } from '../actors/urza/index.ts';
import { report } from './report.ts';

const BENCH = 'forge';

async function throughput(concurrency: number): Promise<{ jobsPerSecond: number; failed: number; jobs: number }> {
  const root = mkdtempSync(join(tmpdir(), 'esper-forge-bench-'));
  const karn = setUpKarn({});
  const library = openUrzaLibrary({ root: join(root, 'urza') });
  const journal = new JobJournal(join(root, 'jobs.db'));
  const system = new ActorSystem({ name: `forge-bench-${concurrency}`, maxAskDeadlineMs: 600_000 });
  const config = { ...TEZZERET_DEFAULTS, concurrency, backend: 'wasm' as const };
  const forge = system.spawn(
    null,
    forgeLogic(
      forgeSettings({
        system,
        config,
        catalog: karn.catalog,
        store: urzaKernelStore(library),
        journal,
        telemetry: null,
      }),
    ),
    { name: 'forge' },
  ) as ActorRef<v1.CompileRequest>;
  const blueprints = [...karn.catalog.all()].filter((d) => !d.quarantineOnly);
  const started = performance.now();
  const results = await Promise.all(
    blueprints.flatMap((descriptor) =>
      config.slots.map((slot) =>
        system.ask(
          forge,
          leyline.CompileRequest.create({
            blueprintId: descriptor.blueprintId,
            slot: leyline.SlotShape.create({ dims: [...slot.dims] }),
          }),
          leyline.CompileResult,
          600_000,
        ),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  await system.shutdown();
  journal.close();
  library.close();
  rmSync(root, { recursive: true, force: true });
  return { jobsPerSecond: results.length / seconds, failed: results.filter((r) => !r.ok).length, jobs: results.length };
}

export async function run(): Promise<void> {
  const n = Math.max(2, cpus().length);
  const one = await throughput(1);
  const many = await throughput(n);
  report(BENCH, `catalog_jobs_per_s_concurrency_${n}_vs_1`, many.jobsPerSecond, 'jobs/s', one.jobsPerSecond);
  report(BENCH, 'catalog_jobs_failed_concurrency_1', one.failed, 'jobs', one.jobs);
  report(BENCH, `catalog_jobs_failed_concurrency_${n}`, many.failed, 'jobs', many.jobs);
}
