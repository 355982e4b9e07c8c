// Weatherlight boots the system: signing secret, actor system, the supervision tree from the configuration;
// it reports health through its tree and shuts everything down in reverse start order with a deadline.
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { createLogger } from '../../runtime/log.ts';
import type { ActorRef, AnyRef, Logger } from '../../runtime/logic.ts';
import { ActorSystem, type ShutdownResult } from '../../runtime/system.ts';
import { resolveFlags, validateTree } from '../../supervision/child-spec.ts';
import { supervisorLogic, type SupervisorOptions } from '../../supervision/supervisor.ts';
import { ConfigError, validateConfig, type EsperConfig } from './esper-config.ts';
import { resolveSigningSecret } from './secret.ts';
import { buildTree, pathOfKind } from './tree.ts';
import type { Curriculum } from './curriculum.ts';
import { WORKER_KINDS, type WorkerFactory } from './workers.ts';
import { setUpKarn } from '../karn/index.ts';
import { JobJournal, journalPath, resolveTezzeretConfig } from '../tezzeret/index.ts';
import { defaultUrzaRoot, openUrzaLibrary } from '../urza/index.ts';
import { setUpTrainer, type RunSelection, type TrainingMonitor } from '../tolaria/index.ts';
import { TrainingSurface } from '../../surface/index.ts';
import { resolveKasminaConfig } from '../kasmina/index.ts';
import {
  FieldReportLog,
  fieldReportsPath,
  resolvePolicy,
  resolveTamiyoConfig,
  type TamiyoSettings,
} from '../tamiyo/index.ts';
import { resolveSimicConfig } from '../simic/index.ts';
import { selectTensorBackend } from '../../tensor/index.ts';
import { OonaClient, OonaConfigError, resolveOonaConfig } from '../oona/index.ts';
import {
  DocumentStore,
  documentsPath,
  resolveNissaConfig,
  type AlertEvent,
  type NissaSettings,
} from '../nissa/index.ts';
import { SECRET_ENV_VAR } from '../../contracts/signing.ts';

const { SupervisorDirective } = leyline;

export interface Weatherlight {
  readonly system: ActorSystem;
  readonly root: AnyRef;
  readonly signing: SignatureContext;
  /** The inspector of this tree, when it has one. */
  readonly inspector: ActorRef<v1.InspectorRequest> | null;
  /** Resolves with the reason if the root supervisor gives up (restart intensity exceeded at the top). */
  readonly gaveUp: Promise<string>;
  /** The training run, when the tree has a trainer. */
  readonly run: { id: string; dir: string; resumed: boolean } | null;
  /** Graceful shutdown, once; later calls return the first result. */
  shutdown(): Promise<ShutdownResult>;
}

export interface BootOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra worker kinds (tests, later subsystems). */
  kinds?: Readonly<Record<string, WorkerFactory>>;
  supervision?: SupervisorOptions;
  log?: Logger;
  /** Which training run (a new one by default, or `resume`: an earlier run's id). */
  run?: RunSelection;
  /** Observes the training run (progress lines, the end of the run). */
  training?: TrainingMonitor;
  /** Observes Nissa's alerts as they fire and resolve (the run record). */
  alerts?: (event: AlertEvent) => void;
  /** What the episode runner's episodes come from (an episode worker's tree). */
  curriculum?: Curriculum;
}

/** The tree this process runs: without the subsystems other processes serve (unless this one serves one). */
function localTree(config: EsperConfig): EsperConfig {
  const elsewhere = new Set(config.run.servedElsewhere ?? []);
  if (elsewhere.size === 0 || config.run.serving) return config;
  const root = config.weatherlight.tree;
  const children = (root.children ?? []).filter((node) => !elsewhere.has(node.id));
  return { ...config, weatherlight: { ...config.weatherlight, tree: { ...root, children } } };
}

/**
 * Opens and closes the stores the tree's actors open when they start (with their own retention, so this prunes
 * nothing they would keep). A damaged one thus stops boot with its file named; found by the actor, it would fail
 * every restart while the run went on without it (Tamiyo's decisions all timeouts, and an exit code of 0).
 */
function checkActorStores(config: EsperConfig, tamiyo: TamiyoSettings, nissa: NissaSettings): void {
  const tree = config.weatherlight.tree;
  // Simic reads Tamiyo's store only beside a Tamiyo; an episode runner's Tamiyos write to it.
  if (pathOfKind(tree, 'tamiyo-controller') || pathOfKind(tree, 'episode-runner')) {
    new FieldReportLog(fieldReportsPath(join(config.run.varDir, 'tamiyo')), {
      retentionMs: tamiyo.retentionMs,
    }).close();
  }
  if (pathOfKind(tree, 'nissa-ingest'))
    new DocumentStore(documentsPath(join(config.run.varDir, 'nissa')), nissa.retentionMs).close();
}

export async function startWeatherlight(candidate: EsperConfig, options: BootOptions = {}): Promise<Weatherlight> {
  const config = localTree(validateConfig(candidate));
  const log = options.log ?? createLogger('weatherlight');
  const signing = resolveSigningSecret({
    env: options.env ?? process.env,
    varDir: config.run.varDir,
    multiProcess: config.run.multiProcess,
    log,
  });
  log.info('configuration', { ...config.run, runtime: config.runtime, signing_key_id: signing.keyId });

  // Subsystem configuration is checked before anything starts, so a bad field stops boot with its name.
  const karn = setUpKarn(config.karn ?? {}, 'karn');
  const tezzeret = resolveTezzeretConfig(config.tezzeret ?? {}, 'tezzeret');
  const kasmina = resolveKasminaConfig(config.kasmina ?? {}, 'kasmina');
  const tamiyo = resolveTamiyoConfig(config.tamiyo ?? {}, options.env ?? process.env, 'tamiyo');
  const unknownBlueprints = (tamiyo.blueprints ?? []).filter((id) => !karn.catalog.get(id));
  if (unknownBlueprints.length > 0)
    throw new ConfigError('tamiyo.blueprints', `not in Karn's catalog: ${unknownBlueprints.join(', ')}`);
  const policy = pathOfKind(config.weatherlight.tree, 'tamiyo-controller')
    ? resolvePolicy(tamiyo, signing, (message) => log.warn(message))
    : null;
  const simic = resolveSimicConfig(config.simic ?? {}, 'simic');
  const oonaSettings = resolveOonaConfig(config.oona ?? {}, 'oona');
  const nissa = resolveNissaConfig(config.nissa ?? {}, 'nissa');
  if (oonaSettings.url !== 'embedded' && !config.run.multiProcess) {
    throw new OonaConfigError(
      'oona.url',
      `a shared bus (${oonaSettings.url}) needs run.multiProcess: true (the signing secret must come from ${SECRET_ENV_VAR})`,
    );
  }
  checkActorStores(config, tamiyo, nissa);
  const trainer = pathOfKind(config.weatherlight.tree, 'tolaria-trainer')
    ? setUpTrainer(config.tolaria ?? {}, config.run.varDir, options.run ?? {})
    : null;
  const backend = await selectTensorBackend();
  log.info('tensor backend', { backend });
  // A tree that stores kernels (Urza's actor takes them from the bus; a local forge compiles into the library) is
  // the root's natural owner; any other (a served Nissa or Simic) only reads, so it never keeps the root from one.
  const hasKind = (kind: string): boolean => pathOfKind(config.weatherlight.tree, kind) !== null;
  const storesKernels = hasKind('urza') || (hasKind('tezzeret-forge') && config.run.serving !== 'tezzeret');
  const urza = openUrzaLibrary({
    root: config.urza?.root ?? defaultUrzaRoot(config.run.varDir),
    ownership: storesKernels ? 'preferred' : 'on-write',
    ...(config.urza?.cacheSize !== undefined ? { cacheSize: config.urza.cacheSize } : {}),
    ...(config.urza?.cacheTtlMs !== undefined ? { cacheTtlMs: config.urza.cacheTtlMs } : {}),
  });
  let journal: JobJournal;
  try {
    journal = new JobJournal(journalPath(config.run.varDir));
  } catch (error) {
    urza.close(); // its lock must not outlive a failed boot
    throw error;
  }
  const system = new ActorSystem({ name: config.run.name, ...config.runtime });
  const busPath = pathOfKind(config.weatherlight.tree, 'oona-bus');
  let oona: OonaClient | null;
  try {
    oona = busPath
      ? new OonaClient({
          settings: oonaSettings,
          signing,
          source: config.run.name,
          stateDir: join(config.run.varDir, 'oona'),
        })
      : null;
  } catch (error) {
    // An unreadable replay ledger (named in the error) stops boot; what is open so far is closed first.
    journal.close();
    urza.close();
    await system.shutdown(0);
    throw error;
  }
  if (oona && !(await oona.connect()))
    log.warn('the bus store is not reachable: publishing buffers and delivers in process until it is', {
      url: oonaSettings.url,
    });
  const closeStores = async (): Promise<void> => {
    await oona?.close();
    journal.close();
    urza.close();
  };
  let spec: ReturnType<typeof buildTree>;
  try {
    const startedAt = Date.now();
    const tree = config.weatherlight.tree;
    const telemetryPath = pathOfKind(tree, 'telemetry-log');
    const kinds = { ...WORKER_KINDS, ...options.kinds };
    spec = buildTree(tree, kinds, {
      system,
      config,
      startedAt,
      signing,
      telemetry: busPath
        ? { path: busPath, system: system.name }
        : telemetryPath
          ? { path: telemetryPath, system: system.name }
          : null,
      telemetryLog: telemetryPath ? { path: telemetryPath, system: system.name } : null,
      bus: busPath ? { path: busPath, system: system.name } : null,
      oona,
      karn,
      urza,
      tezzeret: { settings: tezzeret, journal },
      tolaria: trainer,
      backend,
      training: options.training ?? null,
      alerts: options.alerts ?? null,
      surface: new TrainingSurface(),
      kasmina,
      tamiyo,
      policy,
      curriculum: options.curriculum ?? null,
      simic,
      nissa,
    });
    validateTree(spec, 'weatherlight.tree');
  } catch (error) {
    // A tree that cannot be built must not keep the stores (and Urza's lock) open.
    await closeStores();
    await system.shutdown(0);
    throw error;
  }
  const inspectorPath = pathOfKind(config.weatherlight.tree, 'inspector');

  let reportGaveUp!: (reason: string) => void;
  const gaveUp = new Promise<string>((resolve) => {
    reportGaveUp = resolve;
  });
  const root = system.spawn(null, supervisorLogic(system, spec, options.supervision), {
    name: spec.id,
    // The top of the tree has no one to escalate to: stop it and let the caller end the run.
    onFailure: (failure, ref) => {
      log.error('root supervisor gave up', { error: failure.error });
      void system.decide(ref, SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP);
      reportGaveUp(failure.error);
    },
  }) as AnyRef;
  system.setSupervisionFacts(root, { strategy: resolveFlags(spec.flags).strategy });
  await system.whenStarted(root);

  let stopping: Promise<ShutdownResult> | null = null;
  return {
    system,
    root,
    signing,
    inspector: inspectorPath ? { path: inspectorPath, system: system.name } : null,
    run: trainer ? { id: trainer.runId, dir: trainer.runDir, resumed: trainer.resume } : null,
    gaveUp,
    shutdown() {
      stopping ??= system.shutdown(config.weatherlight.shutdownDeadlineMs).then(async (result) => {
        // Stores (and the bus, which flushes what it still holds) close after every actor that uses them has stopped.
        await closeStores();
        log.info('shutdown complete', { elapsed_ms: result.elapsedMs, forced: result.forced });
        return result;
      });
      return stopping;
    },
  };
}
