// The worker kinds Weatherlight can place in its tree, by name (esper.config.ts refers to them by kind).
// Subsystems register their own kinds here as they land.
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import type { ActorLogic, ActorRef, AnyActorLogic } from '../../runtime/logic.ts';
import type { ActorSystem } from '../../runtime/system.ts';
import { blueprintCost, karnLogic, type KarnSetup } from '../karn/index.ts';
import {
  busKernelStore,
  forgeLogic,
  forgeSettings,
  urzaKernelStore,
  type JobJournal,
  type TezzeretSettings,
} from '../tezzeret/index.ts';
import { urzaLogic, type UrzaLibrary } from '../urza/index.ts';
import { trainerLogic, type TrainerSetup, type TrainingMonitor } from '../tolaria/index.ts';
import type { TrainingSurface } from '../../surface/index.ts';
import { kasminaLogic, KernelSource, type KasminaSettings } from '../kasmina/index.ts';
import { tamiyoLogic, type PolicySpec, type TamiyoSettings } from '../tamiyo/index.ts';
import { simicLogic, type SimicSettings } from '../simic/index.ts';
import { oonaLogic, type BusMessage, type OonaClient } from '../oona/index.ts';
import { busRoutes } from './bus-routes.ts';
import { nissaLogic, type AlertEvent, type NissaSettings } from '../nissa/index.ts';
import { CommandVerifier } from '../../contracts/command-signing.ts';
import { pathOfKind } from './tree.ts';
import type { EsperConfig } from './esper-config.ts';
import { buildHealthPacket, treeHealth } from './health.ts';
import type { Curriculum } from './curriculum.ts';
import { episodeRunnerLogic } from './episode-runner.ts';
import { inspectorLogic } from './inspector.ts';

const { TelemetryLevel } = leyline;

export interface WorkerDeps {
  system: ActorSystem;
  config: EsperConfig;
  startedAt: number;
  signing: SignatureContext;
  /** Where subsystems send telemetry: the bus when the tree has one (it delivers to the log), else the log. */
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  /** The tree's telemetry log, when it has one (the inspector queries it). */
  telemetryLog: ActorRef<v1.TelemetryPacket | v1.InspectorRequest> | null;
  /** The bus actor, when the tree has one. */
  bus: ActorRef<BusMessage> | null;
  /** The process's bus client, opened at boot when the tree has a bus actor (closed after the tree stops). */
  oona: OonaClient | null;
  /** Karn's catalog and approvals, built once at boot (shared with Tezzeret and Urza). */
  karn: KarnSetup;
  /** Urza's library, opened once at boot and closed after the tree has stopped. */
  urza: UrzaLibrary;
  tezzeret: { settings: TezzeretSettings; journal: JobJournal };
  /** The trainer's run, prepared at boot when the tree has a trainer. */
  tolaria: TrainerSetup | null;
  /** The TensorFlow.js backend selected at boot. */
  backend: string;
  training: TrainingMonitor | null;
  /** Observes Nissa's alerts in process (the run record). */
  alerts: ((event: AlertEvent) => void) | null;
  /** What the trainer shares in process with Kasmina: the graft table and the running run's probes. */
  surface: TrainingSurface;
  kasmina: KasminaSettings;
  tamiyo: TamiyoSettings;
  /** The run's policy, resolved at boot from `tamiyo.policy` (null: the promoted one, else the heuristic). */
  policy: PolicySpec | null;
  /** What an episode worker's episodes are drawn from (`esper serve episodes`); null in other trees. */
  curriculum: Curriculum | null;
  simic: SimicSettings;
  nissa: NissaSettings;
}

export type WorkerFactory = (deps: WorkerDeps) => AnyActorLogic;

/** Keeps the last N telemetry packets (for the inspector) and logs the ones that need attention. */
export function telemetryLogLogic(
  kept: number,
): ActorLogic<v1.TelemetryPacket[], v1.TelemetryPacket | v1.InspectorRequest> {
  return {
    kind: 'telemetry-log',
    accepts: [leyline.TelemetryPacket, leyline.InspectorRequest],
    start: () => [],
    receive(packets, message, ctx) {
      if (message instanceof leyline.InspectorRequest) {
        const query = message.telemetry;
        const matching = packets.filter((p) => !query?.sourceSubsystem || p.sourceSubsystem === query.sourceSubsystem);
        const limit = query?.limit || matching.length;
        ctx.reply(
          leyline.InspectorReply.create({ requestId: message.requestId, ok: true, telemetry: matching.slice(-limit) }),
        );
        return packets;
      }
      if (message.level >= TelemetryLevel.TELEMETRY_LEVEL_WARNING) {
        ctx.log.warn(`telemetry ${message.sourceSubsystem}: ${message.systemHealth?.summary ?? ''}`, {
          packet: message.packetId,
          events: message.events.map((e) => e.description),
        });
      }
      packets.push(message);
      if (packets.length > kept) packets.splice(0, packets.length - kept);
      return packets;
    },
    inspect: (packets) => ({ kept: String(packets.length) }),
  };
}

/** Every `intervalMs`, summarises the tree's health as a TelemetryPacket and sends it to the telemetry log. */
export function healthReporterLogic(deps: WorkerDeps): ActorLogic<{ sequence: number }, v1.TimerFired> {
  const { system, telemetry } = deps;
  return {
    kind: 'health-reporter',
    accepts: [leyline.TimerFired],
    start(ctx) {
      ctx.every('health', deps.config.weatherlight.healthIntervalMs);
      return { sequence: 0 };
    },
    receive(state, _tick, ctx) {
      const sequence = state.sequence + 1;
      const packet = buildHealthPacket({
        workers: system.tree(),
        uptimeMs: Date.now() - deps.startedAt,
        now: Date.now(),
        counters: {
          dead_letters_total: system.deadLetters.stats().total,
          refused_payloads: system.counters.refusedPayloads,
          ask_timeouts: system.counters.askTimeouts,
          internal_errors: system.counters.internalErrors,
        },
        packetId: `weatherlight-health-${sequence}`,
      });
      if (telemetry) ctx.dispatch(telemetry, packet);
      else ctx.log.info('health', { summary: packet.systemHealth?.summary });
      return { sequence };
    },
    inspect: (state) => ({ packets_built: String(state.sequence) }),
  };
}

export const WORKER_KINDS: Readonly<Record<string, WorkerFactory>> = {
  'telemetry-log': (deps) => telemetryLogLogic(deps.config.weatherlight.telemetryKept),
  'health-reporter': (deps) => healthReporterLogic(deps),
  inspector: (deps) => {
    const nissa = pathOfKind(deps.config.weatherlight.tree, 'nissa-ingest');
    return inspectorLogic(deps.system, deps.telemetryLog, nissa ? { path: nissa, system: deps.system.name } : null);
  },
  'nissa-ingest': (deps) =>
    nissaLogic({
      settings: deps.nissa,
      stateDir: join(deps.config.run.varDir, 'nissa'),
      health: () => treeHealth(deps.system.tree()),
      ...(deps.alerts ? { onAlert: deps.alerts } : {}),
    }),
  'oona-bus': (deps) => {
    if (!deps.oona) throw new Error('the oona-bus worker needs the bus client opened at boot');
    return oonaLogic({ client: deps.oona, routes: busRoutes(deps) });
  },
  karn: (deps) =>
    karnLogic({
      catalog: deps.karn.catalog,
      approved: deps.karn.approved,
      telemetryIntervalMs: deps.karn.telemetryIntervalMs,
      telemetry: deps.telemetry,
    }),
  urza: (deps) => urzaLogic({ library: deps.urza, replyTo: null }),
  'tezzeret-forge': (deps) =>
    forgeLogic(
      forgeSettings({
        system: deps.system,
        config: deps.tezzeret.settings,
        catalog: deps.karn.catalog,
        // A Tezzeret worker process sends its kernels out by bus; otherwise they go into this process's Urza.
        store:
          deps.config.run.serving === 'tezzeret' && deps.bus
            ? busKernelStore((artifact) => deps.system.dispatch(deps.bus as ActorRef<BusMessage>, artifact))
            : urzaKernelStore(deps.urza),
        journal: deps.tezzeret.journal,
        telemetry: deps.telemetry,
      }),
    ),
  'tolaria-trainer': (deps) => {
    if (!deps.tolaria) throw new Error('the tolaria-trainer worker needs its run prepared at boot');
    const kasmina = pathOfKind(deps.config.weatherlight.tree, 'kasmina-manager');
    const tamiyo = pathOfKind(deps.config.weatherlight.tree, 'tamiyo-controller');
    return trainerLogic({
      ...deps.tolaria,
      backend: deps.backend,
      telemetry: deps.telemetry,
      tamiyo: tamiyo ? { path: tamiyo, system: deps.system.name } : null,
      state: deps.bus,
      kasmina: kasmina ? { path: kasmina, system: deps.system.name } : null,
      surface: deps.surface,
      ...(deps.training ? { monitor: deps.training } : {}),
    });
  },
  'tamiyo-controller': (deps) =>
    tamiyoLogic({
      system: deps.system,
      settings: deps.tamiyo,
      signing: deps.signing,
      catalog: deps.karn.catalog,
      slots: () => deps.surface.probe?.host.slots ?? [],
      stateDir: join(deps.config.run.varDir, 'tamiyo'),
      telemetry: deps.telemetry,
      fieldReports: deps.bus,
      backend: deps.backend,
      policy: deps.policy,
      rngSeed: deps.tolaria?.settings.rngSeed ?? 1,
      cost: (descriptor, dims) => blueprintCost(descriptor, { dims }),
    }),
  'simic-trainer': (deps) => {
    const tamiyo = pathOfKind(deps.config.weatherlight.tree, 'tamiyo-controller');
    return simicLogic({
      settings: deps.simic,
      tamiyoStateDir: join(deps.config.run.varDir, 'tamiyo'),
      stateDir: join(deps.config.run.varDir, 'simic'),
      signing: deps.signing,
      // With a bus, updates travel on oona.policy (any process's Tamiyo receives them); without, straight to Tamiyo.
      tamiyo: deps.bus ?? (tamiyo ? { path: tamiyo, system: deps.system.name } : null),
      pollStore: tamiyo !== null,
      telemetry: deps.telemetry,
      backend: deps.backend,
    });
  },
  'episode-runner': (deps) => episodeRunnerLogic(deps, WORKER_KINDS),
  'kasmina-manager': (deps) =>
    kasminaLogic({
      system: deps.system,
      settings: deps.kasmina,
      verifier: new CommandVerifier(deps.signing),
      kernels: new KernelSource(deps.urza, {
        latencyBudgetMs: deps.kasmina.latencyBudgetMs,
        fallbackBlueprintId: deps.kasmina.fallbackBlueprintId,
      }),
      catalog: deps.karn.catalog,
      surface: deps.surface,
      telemetry: deps.telemetry,
    }),
};
