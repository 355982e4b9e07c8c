// Experiment files (`experiments/*.ts`): `export default defineExperiment({...})` names what to train and how to
// grow it — dataset, host, budgets, seed policy, Tamiyo/Simic settings, alert rules, bus, random seed — and nothing
// of the actor tree. At load the file's value is checked against EXPERIMENT_SCHEMA (every problem named by its path,
// with what was expected) and compiled onto the default configuration; the subsystems' own resolvers then check
// their sections at boot, before anything starts.
import type { DatasetConfig, HostConfig, LrSchedule, OptimizerConfig } from '../tolaria/index.ts';
import type { SeedTimings } from '../kasmina/index.ts';
import type { TamiyoConfig } from '../tamiyo/index.ts';
import type { SimicConfig } from '../simic/index.ts';
import { ALERT_RULE_SCHEMA, type AlertRule } from '../nissa/index.ts';
import { FileIssuesError } from '../../runtime/config-error.ts';
import { SEED_IS_NOW_RNG_SEED } from '../../runtime/seeded-random.ts';
import * as s from '../../runtime/schema.ts';
import type { EsperConfig, TreeNode } from './esper-config.ts';
import { SERVABLE } from './serve.ts';

export interface Experiment {
  /** Names the runs (`<name>-<yyyymmdd>-<hhmmss>`): 1–64 letters, digits, ".", "_" or "-". */
  name: string;
  /** The random seed of weights, shuffles and the validation split: same file and rngSeed, same run. Default 1. */
  rngSeed?: number;
  dataset: DatasetConfig;
  /** Use only the first N training / test samples (quick runs). */
  limit?: { train?: number; test?: number };
  host: HostConfig;
  training?: {
    optimizer?: OptimizerConfig;
    lrSchedule?: LrSchedule;
    batchSize?: number;
    /** Share of the training split held out for validation. Default 0.1. */
    validationFraction?: number;
    /** Decide every N optimizer steps instead of every epoch (the epoch's end is a boundary too). */
    decideEverySteps?: number;
    /** Data-parallel replicas sharing each batch (threads); "auto" (the default): the cores available. */
    replicas?: number | 'auto';
  };
  budgets?: {
    epochs?: number;
    /** End-of-epoch control work (state, Tamiyo, Kasmina) above this fails the epoch. Default 50 ms. */
    hookMs?: number;
    /** A Tamiyo decision whose inference takes longer is replaced by a safe hold. Default 15 ms. */
    decisionMs?: number;
    /** Kernel fetch budget; a slower fetch falls back to Kasmina's fallback blueprint. Default 10 ms. */
    kernelFetchMs?: number;
  };
  /** How the host grows; `false`: no seeds (no Tamiyo, Kasmina or Simic in the tree). */
  seeds?:
    | false
    | {
        /** The blueprints Tamiyo may germinate (Karn ids). Default: every blueprint fit for grafting. */
        blueprints?: string[];
        /** Germinate once the validation loss improved by less than `tolerance` (relative) over `epochs` epochs. */
        plateau?: { epochs?: number; tolerance?: number };
        /** The riskiest blueprint the policy may pick (Karn's risk, 0–1). Default 0.5. */
        maxRisk?: number;
        /** Steps per stage and the blending schedule. */
        timings?: Partial<SeedTimings>;
        /** G4: allowed relative worsening of the validation loss with the seed. Default 0.02. */
        impactTolerance?: number;
      };
  /** Tamiyo's settings beyond the seed policy (deadlines, risk, shadowing of policy updates…). */
  tamiyo?: TamiyoConfig;
  /**
   * Policy learning during the run: Simic trains on Tamiyo's field reports (this run's and those earlier runs left in
   * the folder) and sends the policies that pass validation to Tamiyo, which shadows and promotes them. Off unless
   * set: `true`, or Simic's settings. Off, the run decides with the policy it was given, so the same file and rngSeed
   * decide the same in any folder.
   */
  simic?: boolean | SimicConfig;
  /** Nissa's alert rules (replacing the defaults). */
  alerts?: AlertRule[];
  /** "embedded" (default) or redis://host:port: several processes then share the bus. */
  bus?: string;
  /** Subsystems served by other processes on the bus (`esper serve <name> <this file>`), left out of this one. */
  servedElsewhere?: Array<'simic' | 'nissa' | 'tezzeret'>;
  /** Nissa's HTTP port (0: off). Default 9100. */
  nissaPort?: number;
}

/** Identity, for a typed experiment file: `export default defineExperiment({...})`. */
export function defineExperiment(experiment: Experiment): Experiment {
  return experiment;
}

export class ExperimentError extends FileIssuesError {
  override readonly name = 'ExperimentError';
  constructor(issues: readonly s.Issue[], file = 'experiment') {
    super(issues, file);
  }
}

/** Number rules the experiment and curriculum files share. */
export const positiveInt = s.number({ integer: true, min: 1 });
const count = s.number({ integer: true, min: 0 });
export const positive = s.number({ above: 0 });
export const fraction = s.number({ min: 0, max: 1 });

export const DATASET = s.variants('kind', {
  mnist: {},
  idx: { dir: s.string(), classes: s.optional(positiveInt), files: s.optional(s.unknownValue('IDX file names')) },
  spirals: {
    train: s.optional(positiveInt),
    test: s.optional(positiveInt),
    rngSeed: s.optional(count),
    seed: s.retired(SEED_IS_NOW_RNG_SEED),
    noise: s.optional(s.number({ min: 0 })),
  },
});

export const HOST = s.variants('kind', {
  mlp: {
    inputs: positiveInt,
    hidden: s.array(positiveInt, { minLength: 1 }),
    classes: s.number({ integer: true, min: 2 }),
  },
  cnn: {
    inputShape: s.tuple(positiveInt, positiveInt, positiveInt),
    channels: s.array(positiveInt, { minLength: 1 }),
    dense: s.array(positiveInt),
    classes: s.number({ integer: true, min: 2 }),
  },
});

const OPTIMIZER = s.object(
  {
    kind: s.literal('sgd', 'momentum', 'adam'),
    learningRate: positive,
    momentum: s.optional(fraction),
    beta1: s.optional(fraction),
    beta2: s.optional(fraction),
    epsilon: s.optional(positive),
  },
  'an optimizer { kind, learningRate }',
);

export const SEEDS = s.object({
  blueprints: s.optional(
    s.array(s.string({ pattern: /^BP\d{3}$|^[A-Za-z0-9_.-]+$/, rule: 'a blueprint id such as "BP021"' }), {
      minLength: 1,
    }),
  ),
  plateau: s.optional(s.object({ epochs: s.optional(positiveInt), tolerance: s.optional(fraction) })),
  maxRisk: s.optional(fraction),
  timings: s.optional(s.unknownValue('seed stage timings (checked by Kasmina)')),
  impactTolerance: s.optional(s.number({ min: 0 })),
});

export const TRAINING = s.object({
  optimizer: s.optional(OPTIMIZER),
  lrSchedule: s.optional(s.unknownValue('a learning-rate schedule (checked by Tolaria)')),
  batchSize: s.optional(positiveInt),
  validationFraction: s.optional(s.number({ above: 0, below: 1 })),
  decideEverySteps: s.optional(positiveInt),
  replicas: s.optional(s.unknownValue('a replica count or "auto" (checked by Tolaria)')),
});

/**
 * A subsystem's section: its field names checked here (the list is checked against the subsystem's config type, so
 * it cannot fall behind), its values by the subsystem's resolver at boot.
 */
const section = (owner: string, fields: Readonly<Record<string, true>>): s.Schema =>
  s.object(
    Object.fromEntries(Object.keys(fields).map((key) => [key, s.optional(s.unknownValue(`checked by ${owner}`))])),
    `${owner}'s settings`,
  );

const SIMIC = section('Simic', {
  pollMs: true,
  trainEvery: true,
  batch: true,
  replay: true,
  ppo: true,
  validation: true,
  thread: true,
} satisfies Record<keyof SimicConfig, true>);
const TAMIYO = section('Tamiyo', {
  inferenceTimeoutMs: true,
  policyAnswerMs: true,
  metadataTimeoutMs: true,
  observationEpochs: true,
  retentionHours: true,
  conservativeMode: true,
  risk: true,
  shadowDecisions: true,
  policyThread: true,
  persistEvery: true,
  prior: true,
  graph: true,
  outcome: true,
  blueprints: true,
  policy: true,
  mode: true,
  temperature: true,
} satisfies Record<keyof TamiyoConfig, true>);

export const EXPERIMENT_SCHEMA: s.Schema = s.object(
  {
    name: s.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, rule: '1–64 letters, digits, ".", "_" or "-"' }),
    rngSeed: s.optional(count),
    seed: s.retired(SEED_IS_NOW_RNG_SEED),
    dataset: DATASET,
    limit: s.optional(s.object({ train: s.optional(positiveInt), test: s.optional(positiveInt) })),
    host: HOST,
    training: s.optional(TRAINING),
    budgets: s.optional(
      s.object({
        epochs: s.optional(positiveInt),
        hookMs: s.optional(positive),
        decisionMs: s.optional(positive),
        kernelFetchMs: s.optional(positive),
      }),
    ),
    seeds: s.optional(s.either(s.literal(false), SEEDS)),
    tamiyo: s.optional(TAMIYO),
    simic: s.optional(s.either(s.boolean(), SIMIC)),
    alerts: s.optional(s.array(ALERT_RULE_SCHEMA)),
    bus: s.optional(s.string({ pattern: /^(embedded|redis:\/\/\S+)$/, rule: '"embedded" or redis://host:port' })),
    servedElsewhere: s.optional(s.array(s.literal(...Object.keys(SERVABLE)))),
    nissaPort: s.optional(s.number({ integer: true, min: 0, max: 65_535 })),
  },
  'an experiment (the default export of the file: defineExperiment({...}))',
);

/** Whether the experiment turns policy learning on (Simic in the run). */
export const learnsPolicy = (experiment: Experiment): boolean =>
  experiment.simic === true || typeof experiment.simic === 'object';

/** Checks `value` as an experiment: its shape, then what its fields imply of each other; every problem is listed. */
export function validateExperiment(value: unknown, file?: string): Experiment {
  const issues = s.validate(EXPERIMENT_SCHEMA, value);
  if (issues.length === 0) {
    const e = value as Experiment;
    if (learnsPolicy(e) && e.seeds === false)
      issues.push({
        path: 'simic',
        message: 'policy learning needs seeds (seeds is false: there is no policy to learn)',
      });
    const served = e.servedElsewhere?.indexOf('simic') ?? -1;
    if (served >= 0 && !learnsPolicy(e))
      issues.push({
        path: `servedElsewhere[${served}]`,
        message: 'Simic is served elsewhere only when the run learns its policy (simic: true)',
      });
  }
  if (issues.length > 0) throw new ExperimentError(issues, file);
  return value as Experiment;
}

/** Whether a config file's default export is an experiment (a full configuration has run, runtime and a tree). */
export const isExperiment = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !['run', 'runtime', 'weatherlight'].some((key) => key in value);

const SEED_SUBSYSTEMS = ['tamiyo', 'kasmina', 'simic'];

/** The configuration an experiment runs with: `base` (the defaults) with the experiment's choices applied. */
export function experimentConfig(experiment: unknown, base: EsperConfig, file?: string): EsperConfig {
  const e = validateExperiment(experiment, file);
  const seeds = e.seeds === false ? null : (e.seeds ?? {});
  const dropped = new Set<string>([...(seeds ? [] : SEED_SUBSYSTEMS), ...(learnsPolicy(e) ? [] : ['simic'])]);
  const tree: TreeNode = {
    ...base.weatherlight.tree,
    children: (base.weatherlight.tree.children ?? []).filter((node) => !dropped.has(node.id)),
  };
  const bus = e.bus ?? 'embedded';
  const budgets = e.budgets ?? {};
  const training = e.training ?? {};
  const defined = <T extends object>(value: T): Partial<T> =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
  const tamiyo: TamiyoConfig = {
    ...e.tamiyo,
    ...defined({ inferenceTimeoutMs: budgets.decisionMs, blueprints: seeds?.blueprints }),
    // The policy sees every blueprint the experiment offers (without a list, the best-ranked few of the catalog).
    ...(seeds?.blueprints ? { graph: { ...e.tamiyo?.graph, maxCandidates: seeds.blueprints.length } } : {}),
    prior: {
      ...e.tamiyo?.prior,
      ...defined({
        plateauEpochs: seeds?.plateau?.epochs,
        plateauTolerance: seeds?.plateau?.tolerance,
        maxRisk: seeds?.maxRisk,
      }),
    },
    // The risk engine turns a germination at or above its blueprint risk into a no-op: keep it above the policy's.
    // The risk engine holds when the last control hook ran over budget: the same budget as Tolaria's.
    risk: {
      ...e.tamiyo?.risk,
      ...defined({
        blueprintRisk: seeds?.maxRisk === undefined ? undefined : Math.min(1, seeds.maxRisk + 0.01),
        hookBudgetMs: budgets.hookMs,
      }),
    },
  };
  return {
    ...base,
    run: {
      ...base.run,
      multiProcess: bus !== 'embedded',
      ...(e.servedElsewhere ? { servedElsewhere: e.servedElsewhere } : {}),
    },
    weatherlight: { ...base.weatherlight, tree },
    tolaria: defined({
      experiment: e.name,
      dataset: e.dataset,
      limit: e.limit,
      host: e.host,
      optimizer: training.optimizer,
      lrSchedule: training.lrSchedule,
      batchSize: training.batchSize,
      validationFraction: training.validationFraction,
      epochs: budgets.epochs,
      rngSeed: e.rngSeed,
      control: defined({ hookBudgetMs: budgets.hookMs, everySteps: training.decideEverySteps }),
      parallel: defined({ replicas: training.replicas }),
    }),
    ...(seeds
      ? {
          tamiyo,
          kasmina: {
            ...base.kasmina,
            ...defined({
              timings: seeds.timings,
              impactTolerance: seeds.impactTolerance,
              latencyBudgetMs: budgets.kernelFetchMs,
            }),
          },
        }
      : {}),
    ...(typeof e.simic === 'object' ? { simic: e.simic } : {}),
    oona: { ...base.oona, url: bus },
    nissa: { ...base.nissa, ...defined({ alerts: e.alerts, port: e.nissaPort }) },
  };
}
