// The default configuration: what `npx esper run` uses when no file is named.
// Restart policies and strategies are Leyline enums (the same values travel in WorkerState and telemetry).
import { leyline } from './contracts/index.ts';
import { defineConfig, type TreeNode } from './actors/weatherlight/config.ts';

const { RestartPolicy, SupervisionStrategy } = leyline;

/** A subsystem's supervisor with its workers (empty until that subsystem lands). */
const subsystem = (id: string, children: TreeNode[] = []): TreeNode => ({
  id,
  flags: { strategy: SupervisionStrategy.SUPERVISION_STRATEGY_ONE_FOR_ONE },
  children,
});

export default defineConfig({
  run: {
    name: 'esper',
    varDir: 'var',
    multiProcess: false,
  },
  runtime: {
    defaultMailboxCapacity: 10_000,
    deadLetterCapacity: 256,
    maxAskDeadlineMs: 300_000,
  },
  weatherlight: {
    healthIntervalMs: 10_000,
    shutdownDeadlineMs: 10_000,
    telemetryKept: 500,
    tree: {
      id: 'weatherlight',
      flags: {
        strategy: SupervisionStrategy.SUPERVISION_STRATEGY_ONE_FOR_ONE,
        intensity: 10,
        periodMs: 60_000,
        backoff: { baseMs: 1_000, maxMs: 30_000, jitter: 0.25, stableMs: 60_000 },
      },
      children: [
        { id: 'telemetry', worker: 'telemetry-log', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        { id: 'inspector', worker: 'inspector', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        { id: 'health', worker: 'health-reporter', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        subsystem('oona'),
        subsystem('nissa'),
        subsystem('urza', [{ id: 'library', worker: 'urza', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        subsystem('karn', [{ id: 'catalog', worker: 'karn', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        subsystem('tezzeret', [{ id: 'forge', worker: 'tezzeret-forge', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        ...['kasmina', 'tamiyo', 'simic', 'tolaria'].map((id) => subsystem(id)),
      ],
    },
  },
});
