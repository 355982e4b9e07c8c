// The shape of an Esper configuration (esper.config.ts) and its validation. Boot reads it once; every problem
// is reported with the path of the bad field.
import type { v1 } from '../../contracts/index.ts';
import type { SupervisorFlags } from '../../supervision/child-spec.ts';
import { assertValidActorName } from '../../runtime/names.ts';
import { ConfigError } from '../../runtime/config-error.ts';
import type { KarnConfig } from '../karn/index.ts';
import type { TezzeretConfig } from '../tezzeret/index.ts';
import type { TolariaConfig } from '../tolaria/index.ts';
import type { KasminaConfig } from '../kasmina/index.ts';
import type { TamiyoConfig } from '../tamiyo/index.ts';
import type { SimicConfig } from '../simic/index.ts';
import type { OonaConfig } from '../oona/index.ts';
import type { NissaConfig } from '../nissa/index.ts';

/** One node of the supervision tree: a worker (an actor of a registered kind) or a supervisor (with children). */
export interface TreeNode {
  id: string;
  /** Worker kind, from the registry in workers.ts. */
  worker?: string;
  /** A supervisor's children, started in this order and stopped in reverse. */
  children?: TreeNode[];
  flags?: Partial<SupervisorFlags>;
  restart?: v1.RestartPolicy;
  shutdownMs?: number;
  mailboxCapacity?: number;
}

export interface EsperConfig {
  run: {
    /** The actor system's name (also the first segment of log scopes). */
    name: string;
    /** Where run state lives: databases, checkpoints, the generated signing secret. */
    varDir: string;
    /** Several processes share a bus: the signing secret must then come from ESPER_LEYLINE_SECRET. */
    multiProcess: boolean;
    /** Set by `esper serve <subsystem>`: this process serves that subsystem to others on the bus. */
    serving?: string;
    /** Subsystems other processes serve on the bus (`esper serve`): left out of this process's tree. */
    servedElsewhere?: string[];
  };
  runtime: {
    defaultMailboxCapacity: number;
    deadLetterCapacity: number;
    maxAskDeadlineMs: number;
  };
  weatherlight: {
    /** How often the health summary is built and published. */
    healthIntervalMs: number;
    /** Graceful shutdown: after this, actors still busy are marked stopped without their clean-up. */
    shutdownDeadlineMs: number;
    /** How many telemetry packets the telemetry log keeps for inspection. */
    telemetryKept: number;
    tree: TreeNode;
  };
  /** Karn's catalog: custom blueprints, operator approvals (checked by Karn at boot). */
  karn?: KarnConfig;
  /** The forge: concurrency, timeouts, retries, breaker, the slot shapes `esper forge` compiles for. */
  tezzeret?: TezzeretConfig;
  /** The seeds: stage timings, kernel budget and fallback, gate thresholds. */
  kasmina?: KasminaConfig;
  /** The policy: deadlines, risk thresholds, observation window, shadow evaluation of policy updates. */
  tamiyo?: TamiyoConfig;
  /** The bus: embedded (default) or redis://…, stream names, retries, limits. */
  oona?: OonaConfig;
  /** Observability: HTTP port (default 9100, 0 = off), document retention, Prometheus cardinality bounds. */
  nissa?: NissaConfig;
  /** Learning the policy: how often, how much, PPO, validation (used when the tree has a Simic trainer). */
  simic?: SimicConfig;
  /** The trainer: dataset, host, optimizer, control, checkpoints, rollback (used when the tree has a trainer). */
  tolaria?: TolariaConfig;
  /** The kernel library. */
  urza?: {
    /** Catalog and artifacts. Default `<run.varDir>/urza`. */
    root?: string;
    /** Kernels kept in memory. Default 128. */
    cacheSize?: number;
    /** Cached kernels older than this are re-read and re-verified. Default: never. */
    cacheTtlMs?: number | null;
  };
}

/** Identity, for a typed `esper.config.ts`: `export default defineConfig({...})`. */
export function defineConfig(config: EsperConfig): EsperConfig {
  return config;
}

export { ConfigError };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function positiveInt(value: unknown, field: string, { allowZero = false } = {}): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ConfigError(field, `must be an integer ${allowZero ? '>= 0' : '> 0'}, got ${JSON.stringify(value)}`);
  }
}

/** Checks the parts of a configuration that boot reads; the tree's flags are checked by `validateTree`. */
export function validateConfig(value: unknown): EsperConfig {
  if (!isObject(value)) throw new ConfigError('(root)', 'must be an object (the default export of the config file)');
  const { run, runtime, weatherlight } = value;
  if (!isObject(run)) throw new ConfigError('run', 'is missing');
  if (typeof run.name !== 'string' || run.name === '') throw new ConfigError('run.name', 'must be a non-empty string');
  try {
    assertValidActorName(run.name);
  } catch (error) {
    throw new ConfigError('run.name', (error as Error).message);
  }
  if (typeof run.varDir !== 'string' || run.varDir === '')
    throw new ConfigError('run.varDir', 'must be a non-empty string');
  if (typeof run.multiProcess !== 'boolean') throw new ConfigError('run.multiProcess', 'must be true or false');
  if (!isObject(runtime)) throw new ConfigError('runtime', 'is missing');
  positiveInt(runtime.defaultMailboxCapacity, 'runtime.defaultMailboxCapacity', { allowZero: true });
  positiveInt(runtime.deadLetterCapacity, 'runtime.deadLetterCapacity');
  positiveInt(runtime.maxAskDeadlineMs, 'runtime.maxAskDeadlineMs');
  if (!isObject(weatherlight)) throw new ConfigError('weatherlight', 'is missing');
  positiveInt(weatherlight.healthIntervalMs, 'weatherlight.healthIntervalMs');
  positiveInt(weatherlight.shutdownDeadlineMs, 'weatherlight.shutdownDeadlineMs');
  positiveInt(weatherlight.telemetryKept, 'weatherlight.telemetryKept');
  validateNode(weatherlight.tree, 'weatherlight.tree');
  return value as unknown as EsperConfig;
}

function validateNode(node: unknown, field: string): void {
  if (!isObject(node)) throw new ConfigError(field, 'must be a tree node { id, worker | children }');
  if (typeof node.id !== 'string') throw new ConfigError(`${field}.id`, 'must be a string');
  const hasWorker = node.worker !== undefined;
  const hasChildren = node.children !== undefined;
  if (hasWorker === hasChildren) throw new ConfigError(field, `(${node.id}) must have either "worker" or "children"`);
  if (hasWorker && typeof node.worker !== 'string')
    throw new ConfigError(`${field}.worker`, 'must be a worker kind name');
  if (hasChildren) {
    if (!Array.isArray(node.children)) throw new ConfigError(`${field}.children`, 'must be a list');
    node.children.forEach((child, i) => validateNode(child, `${field}.children[${i}]`));
  }
}
