// Simic's trainer (`simic/trainer`, kind `simic-trainer`): every `pollMs` it reads the field reports Tamiyo has
// completed (Tamiyo's SQLite store) into its replay buffer, and takes completed reports arriving by bus (a
// FieldReport message; each report is learned from once, whichever way it came); once `trainEvery` new experiences are in, it runs a
// training job (on its worker thread) from Tamiyo's active weights, and a policy that passes validation is signed
// and sent to Tamiyo as a PolicyUpdate (and kept under `<stateDir>/updates/` until sent). Updates made offline
// (`esper simic train`) waiting there are sent when it starts. A SimicTrainRequest trains at once (answered with a
// SimicTrainResult). Every job reports its figures in telemetry.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import { decodeLeyline } from '../../contracts/codec.ts';
import type { SignatureContext } from '../../contracts/signing.ts';
import { buildTelemetryPacket, type EventInput } from '../../contracts/telemetry.ts';
import type { ActorContext, ActorLogic, ActorRef } from '../../runtime/logic.ts';
import { WorkerChannel } from '../../runtime/worker-channel.ts';
import { FieldReportLog, fieldReportsPath } from '../tamiyo/index.ts';
import { keepUpdate, markSent, pendingUpdates, policyUpdate } from './publish.ts';
import { ReplayBuffer } from './replay.ts';
import type { SimicSettings } from './settings.ts';
import type { SimicRequest } from './simic-thread.ts';
import { runTrainingJob, weightsOf, type TrainingOutcome } from './training-job.ts';

const { TelemetryLevel, HealthStatus } = leyline;

export type SimicMessage = v1.TimerFired | v1.SimicTrainRequest | v1.FieldReport;

export interface SimicDeps {
  settings: SimicSettings;
  /** Tamiyo's state directory: its field reports and its promoted policy. */
  tamiyoStateDir: string;
  /** `<varDir>/simic`: updates waiting to be sent. */
  stateDir: string;
  signing: SignatureContext;
  /** Where policy updates go: Tamiyo's controller, or the bus (which delivers them to every Tamiyo). */
  tamiyo: ActorRef<v1.PolicyUpdate> | null;
  /** Read Tamiyo's report store every `pollMs` (false when Simic runs in a process of its own: reports come by bus). */
  pollStore?: boolean;
  telemetry: ActorRef<v1.TelemetryPacket> | null;
  backend: string;
  /** A job that takes longer than this is stopped (its thread terminated). Default 10 min. */
  jobTimeoutMs?: number;
}

interface SimicState {
  reports: FieldReportLog | null;
  replay: ReplayBuffer;
  /** The training thread, started at the first job (a run that never trains never starts it). */
  channel: WorkerChannel<SimicRequest, { outcome: TrainingOutcome }> | null;
  trainedAt: number;
  jobs: number;
  published: number;
}

const POLL = 'poll';
const THREAD_ENTRY = new URL('./simic-thread.ts', import.meta.url);

/** The promoted policy's update (Tamiyo's `policy.pb`), or null while Tamiyo runs the prior. */
function activeUpdate(tamiyoStateDir: string): v1.PolicyUpdate | null {
  const path = join(tamiyoStateDir, 'policy.pb');
  if (!existsSync(path)) return null;
  const decoded = decodeLeyline(leyline.PolicyUpdate, readFileSync(path));
  return decoded.ok ? decoded.message : null;
}

export function simicLogic(deps: SimicDeps): ActorLogic<SimicState, SimicMessage> {
  const { settings } = deps;

  function send(
    ctx: ActorContext<SimicMessage>,
    events: EventInput[],
    metrics: Array<{ name: string; value: number; unit: string }> = [],
  ): void {
    if (!deps.telemetry) return;
    const warning = events.some((e) => (e.level ?? 0) >= TelemetryLevel.TELEMETRY_LEVEL_WARNING);
    ctx.dispatch(
      deps.telemetry,
      buildTelemetryPacket({
        packetId: `simic-${Date.now()}`,
        source: 'simic',
        level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
        metrics,
        events,
        healthStatus: warning ? HealthStatus.HEALTH_STATUS_DEGRADED : HealthStatus.HEALTH_STATUS_HEALTHY,
        healthSummary: events.at(-1)?.description ?? 'idle',
      }),
    );
  }

  function sendWaiting(ctx: ActorContext<SimicMessage>): void {
    if (!deps.tamiyo) return;
    const { updates, broken } = pendingUpdates(deps.stateDir);
    for (const path of broken)
      send(ctx, [
        {
          description: 'policy_update_unreadable',
          level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
          attributes: { path },
        },
      ]);
    for (const { path, update } of updates) {
      ctx.dispatch(deps.tamiyo, update);
      markSent(path);
      send(ctx, [{ description: 'policy_update_sent', attributes: { version: update.tamiyoPolicyVersion } }]);
    }
  }

  /** One job on the replay buffer; what came of it. */
  async function train(
    ctx: ActorContext<SimicMessage>,
    state: SimicState,
  ): Promise<{ published: string | null; reasons: string[]; experiences: number }> {
    state.trainedAt = state.replay.counters.added;
    state.jobs += 1;
    const job = {
      experiences: state.replay.sample(settings.batch),
      activeWeights: weightsOf(activeUpdate(deps.tamiyoStateDir)),
      ppo: settings.ppo,
      validation: settings.validation,
      rngSeed: state.jobs,
    };
    const started = performance.now();
    if (settings.thread === 'worker') state.channel ??= new WorkerChannel(THREAD_ENTRY, 'simic thread');
    let outcome: TrainingOutcome;
    try {
      outcome = state.channel
        ? (await state.channel.request({ kind: 'train', backend: deps.backend, job }, deps.jobTimeoutMs ?? 600_000))
            .outcome
        : runTrainingJob(job);
    } catch (error) {
      send(ctx, [
        {
          description: 'simic_job_failed',
          level: TelemetryLevel.TELEMETRY_LEVEL_ERROR,
          attributes: { error: (error as Error).message },
        },
      ]);
      // A thread that failed is not used again: the next job starts a fresh one.
      await state.channel?.close();
      state.channel = null;
      return {
        published: null,
        reasons: [`training job failed: ${(error as Error).message}`],
        experiences: job.experiences.length,
      };
    }
    const { stats } = outcome;
    const metrics = [
      { name: 'simic.training.reward', value: stats.averageReward, unit: 'reward' },
      { name: 'simic.policy.loss', value: stats.policyLoss, unit: 'loss' },
      { name: 'simic.value.loss', value: stats.valueLoss, unit: 'loss' },
      { name: 'simic.policy.entropy', value: stats.entropy, unit: 'nats' },
      { name: 'simic.policy.approx_kl', value: stats.approxKl, unit: 'nats' },
      { name: 'simic.policy.clip_fraction', value: stats.clipFraction, unit: 'share' },
      { name: 'simic.training.experiences', value: stats.experiences, unit: 'count' },
      { name: 'simic.training.iterations', value: state.jobs, unit: 'count' },
      { name: 'simic.training.latency_ms', value: performance.now() - started, unit: 'ms' },
      { name: 'simic.replay.size', value: state.replay.size, unit: 'count' },
      { name: 'simic.replay.malformed', value: state.replay.counters.malformed, unit: 'count' },
      { name: 'simic.validation.pass', value: outcome.passed ? 1 : 0, unit: 'bool' },
      ...(outcome.heldOut
        ? [
            { name: 'simic.validation.held_out_reward', value: outcome.heldOut.candidate, unit: 'reward' },
            { name: 'simic.validation.active_reward', value: outcome.heldOut.active, unit: 'reward' },
          ]
        : []),
    ];
    if (!outcome.passed || !outcome.weights) {
      send(
        ctx,
        [
          {
            description: 'Simic policy validation failed',
            level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
            attributes: { reasons: outcome.reasons.join('; ') },
          },
        ],
        metrics,
      );
      return { published: null, reasons: outcome.reasons, experiences: stats.experiences };
    }
    const version = `simic-${new Date().toISOString().replace(/[-:.TZ]/g, '')}-${state.jobs}`;
    const update = policyUpdate(outcome.weights, version, '', deps.signing);
    keepUpdate(deps.stateDir, update);
    state.published += 1;
    send(ctx, [{ description: 'Simic PPO update', attributes: { version } }], metrics);
    sendWaiting(ctx);
    return { published: version, reasons: [], experiences: stats.experiences };
  }

  /** Takes in the reports Tamiyo has completed since the last look (from its store, or as they came by bus). */
  function readReports(
    ctx: ActorContext<SimicMessage>,
    state: SimicState,
    arrived: readonly v1.FieldReport[] = [],
  ): void {
    const before = state.replay.counters.malformed;
    if (state.reports) state.replay.addReports(state.reports.completed(state.replay.known));
    if (arrived.length > 0) state.replay.addReports(arrived);
    if (state.replay.counters.malformed > before) {
      send(ctx, [
        {
          description: 'field_report_malformed',
          level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
          attributes: { problem: state.replay.lastProblem },
        },
      ]);
    }
  }

  return {
    kind: 'simic-trainer',
    accepts: [leyline.TimerFired, leyline.SimicTrainRequest, leyline.FieldReport],
    start(ctx) {
      const state: SimicState = {
        reports: deps.pollStore === false ? null : new FieldReportLog(fieldReportsPath(deps.tamiyoStateDir)),
        replay: new ReplayBuffer({ capacity: settings.replay.capacity, ttlMs: settings.replay.ttlMs, rngSeed: 11 }),
        channel: null,
        trainedAt: 0,
        jobs: 0,
        published: 0,
      };
      sendWaiting(ctx);
      ctx.every(POLL, settings.pollMs);
      return state;
    },
    async receive(state, message, ctx) {
      if (message instanceof leyline.SimicTrainRequest) {
        readReports(ctx, state);
        const result =
          state.replay.size === 0
            ? { published: null, reasons: ['no completed field reports to learn from'], experiences: 0 }
            : await train(ctx, state);
        ctx.reply(
          leyline.SimicTrainResult.create({
            requestId: message.requestId,
            published: result.published !== null,
            policyVersion: result.published ?? '',
            experiences: result.experiences,
            reasons: result.reasons,
          }),
        );
        return state;
      }
      if (message instanceof leyline.FieldReport) {
        // The report is in the replay buffer (or known) before the bus hears it was handled.
        readReports(ctx, state, [message]);
      } else if (message.timerId === POLL) {
        readReports(ctx, state);
      } else {
        return state;
      }
      if (state.replay.counters.added - state.trainedAt >= settings.trainEvery) await train(ctx, state);
      return state;
    },
    async stop(state) {
      state.reports?.close();
      await state.channel?.close();
    },
    inspect: (state) => ({
      replay: String(state.replay.size),
      jobs: String(state.jobs),
      published: String(state.published),
    }),
  };
}
