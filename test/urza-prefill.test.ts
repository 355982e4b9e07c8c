// The first-use forge of `esper run` (cli/urza-prefill.ts) runs in Weatherlight's tree: the kernels a run lacks are
// compiled by the tree's own forge (tezzeret/forge), which is supervised — a crash of it is restarted by its
// supervisor and the forging goes on through the restarted forge.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { leyline, type v1 } from '../contracts/index.ts';
import { SECRET_ENV_VAR } from '../contracts/signing.ts';
import { toTimestamp } from '../contracts/time.ts';
import { setUpKarn } from '../actors/karn/index.ts';
import type { EsperConfig, TreeNode } from '../actors/weatherlight/esper-config.ts';
import { startWeatherlight } from '../actors/weatherlight/weatherlight.ts';
import { WORKER_KINDS, type WorkerFactory } from '../actors/weatherlight/workers.ts';
import type { SupervisorEffect } from '../supervision/supervisor-logic.ts';
import type { ActorRef } from '../runtime/logic.ts';
import { prefillUrza } from '../cli/urza-prefill.ts';
import defaults from '../esper.config.ts';
import { EventLog } from './helpers/events.ts';

const env = { [SECRET_ENV_VAR]: 'test-secret' };
const FORGE = '/weatherlight/tezzeret/forge';

/** The default tree without the subsystems a forge does not need (and no trainer: nothing to hold here). */
const forgeTree = (node: TreeNode): TreeNode => ({
  ...node,
  children: (node.children ?? []).filter((c) => ['telemetry', 'urza', 'karn', 'tezzeret'].includes(c.id)),
});

test("the first-use forge runs in Weatherlight's tree: a crash of the forge is restarted by its supervisor, and the kernels reach Urza", async (t) => {
  let crashNext = false;
  // The real forge, crashing on its next CompileRequest when told to.
  const crashable: WorkerFactory = (deps) => {
    const inner = WORKER_KINDS['tezzeret-forge']!(deps);
    return {
      ...inner,
      receive(state: unknown, message: never, ctx: Parameters<typeof inner.receive>[2]) {
        if (crashNext && (message as object) instanceof leyline.CompileRequest) {
          crashNext = false;
          throw new Error('forge crashed');
        }
        return inner.receive(state, message, ctx);
      },
    };
  };
  const config: EsperConfig = {
    ...defaults,
    run: { ...defaults.run, name: 'prefill', varDir: mkdtempSync(join(tmpdir(), 'esper-prefill-')) },
    weatherlight: { ...defaults.weatherlight, tree: forgeTree(defaults.weatherlight.tree) },
  };
  const effects = new EventLog<{ path: string; effect: SupervisorEffect }>();
  const wl = await startWeatherlight(config, {
    env,
    kinds: { 'tezzeret-forge': crashable },
    supervision: { observe: (path, effect) => effects.push({ path, effect }) },
  });
  try {
    const forge = wl.system.tree().find((w) => w.path === FORGE);
    t.is(forge?.status, leyline.ActorStatus.ACTOR_STATUS_RUNNING, "the forge is one of the tree's actors");
    t.is(forge?.restartPolicy, leyline.RestartPolicy.RESTART_POLICY_PERMANENT);

    crashNext = true;
    const { catalog } = setUpKarn({});
    const jobs = [{ descriptor: catalog.get('BP021')!, dims: [16] }];
    const lines: string[] = [];
    const first = await prefillUrza(wl, config, jobs, new PassThrough(), (line) => lines.push(line));
    t.is(first?.failed, 1, 'the request the forge crashed on fails (and is not left hanging)');
    t.regex(first?.failures[0] ?? '', /forge crashed/);
    t.regex(lines[0] ?? '', /forging 1 kernel into Urza with \/weatherlight\/tezzeret\/forge/);
    await effects.waitFor(
      (e) => e.path === '/weatherlight/tezzeret' && e.effect.type === 'restart' && e.effect.ids.includes('forge'),
    );
    await wl.system.whenStarted({ path: FORGE, system: wl.system.name });
    t.is(wl.system.tree().find((w) => w.path === FORGE)?.restartCount, 1, 'restarted by its supervisor');

    const second = await prefillUrza(wl, config, jobs, new PassThrough(), () => undefined);
    t.is(second?.compiled, 1, second?.failures.join('; '));
    const urza: ActorRef<v1.KernelPrefetchRequest> = { path: '/weatherlight/urza/library', system: wl.system.name };
    const ready = await wl.system.ask(
      urza,
      leyline.KernelPrefetchRequest.create({
        requestId: 'p1',
        blueprintId: 'BP021',
        trainingRunId: 'run',
        issuedAt: toTimestamp(Date.now()),
      }),
      [leyline.KernelArtifactReady, leyline.KernelArtifactError],
      5_000,
    );
    t.true(ready instanceof leyline.KernelArtifactReady, 'Urza serves the kernel the tree forged');
  } finally {
    await wl.shutdown();
  }
});
