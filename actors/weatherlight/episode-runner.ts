// The episode runner (`tolaria/episodes` in an episode worker's tree, kind `episode-runner`): it answers an
// EpisodeRequest with an EpisodeResult, one episode at a time. The worker's tree boots once, with the services every
// run shares (the bus, Urza, Karn, Tezzeret, telemetry); each episode gets a subtree of its own under the runner —
// Kasmina's manager, Tamiyo's controller with the episode's policy, Tolaria's trainer on the episode's task — built
// from the same worker kinds as `esper run`'s tree and supervised the same way. Nothing of one episode (seeds, grafts,
// the policy's draws, breakers) reaches the next: the same request gives the same episode on any worker.
//
// The episode ends when its trainer ends (completed or halted); the subtree is stopped, the decisions' field reports
// are read back from Tamiyo's log (every decision, pending ones included), and the answer goes out. A subtree that
// fails beyond its restarts ends the episode with the error.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { ActorContext, ActorLogic, AnyRef } from '../../runtime/logic.ts';
import { supervisorLogic } from '../../supervision/supervisor.ts';
import { resolveKasminaConfig } from '../kasmina/index.ts';
import {
  FieldReportLog,
  fieldReportsPath,
  HEURISTIC_POLICY,
  RANDOM_POLICY,
  resolveTamiyoConfig,
  type PolicySpec,
} from '../tamiyo/index.ts';
import { loadDataset, resolveTolariaConfig, type Dataset, type TrainerSetup } from '../tolaria/index.ts';
import { TrainingSurface } from '../../surface/index.ts';
import { checkPolicyUpdate } from '../../policy/index.ts';
import type { EsperConfig, TreeNode } from './esper-config.ts';
import { episodeExperiment, failedEpisode, validateTask, type Curriculum, type CurriculumTask } from './curriculum.ts';
import { EpisodeRecord } from './episode-record.ts';
import { experimentConfig } from './experiment.ts';
import { buildTree } from './tree.ts';
import type { WorkerDeps, WorkerFactory } from './workers.ts';

const { RestartPolicy, SupervisionStrategy, TerminationReason } = leyline;

export type EpisodeRunnerMessage = v1.EpisodeRequest | v1.Terminated;

interface InFlight {
  request: v1.EpisodeRequest;
  answer: (message: v1.EpisodeResult) => boolean;
  subtree: AnyRef;
  trainer: AnyRef;
  record: EpisodeRecord;
  runDir: string;
  policyVersion: string;
  startedAt: number;
}

interface RunnerState {
  episodes: number;
  inFlight: InFlight | null;
}

/** The episode's policy from its request (a network's weights are checked like any PolicyUpdate). */
export function episodePolicy(request: v1.EpisodeRequest, deps: Pick<WorkerDeps, 'signing'>): PolicySpec | null {
  switch (request.policyKind) {
    case 'none':
      return null;
    case 'heuristic':
      return HEURISTIC_POLICY;
    case 'random':
      return RANDOM_POLICY;
    case 'network': {
      if (!request.policy) throw new Error('episode request: policy kind "network" without a policy');
      const update = leyline.PolicyUpdate.create(request.policy);
      const check = checkPolicyUpdate(update, deps.signing, []);
      if (!check.ok) throw new Error(`episode request: the policy was refused: ${check.reason}`);
      const mode = request.mode === 'sample' ? 'sample' : 'greedy';
      return {
        version: check.version,
        kind: 'network',
        weights: check.weights,
        update,
        mode,
        temperature: request.temperature > 0 ? request.temperature : 1,
      };
    }
    default:
      throw new Error(`episode request: unknown policy kind ${JSON.stringify(request.policyKind)}`);
  }
}

/** A tree whose only branch leads to `path` and ends in `children` (workers find each other by kind in it). */
function treeAt(path: string, children: TreeNode[]): TreeNode {
  const ids = path.split('/').filter(Boolean);
  let node: TreeNode = { id: ids.at(-1)!, children };
  for (const id of ids.slice(0, -1).reverse()) node = { id, children: [node] };
  return node;
}

export function episodeRunnerLogic(
  deps: WorkerDeps,
  kinds: Readonly<Record<string, WorkerFactory>>,
): ActorLogic<RunnerState, EpisodeRunnerMessage> {
  const curriculum: Curriculum | null = deps.curriculum;
  const varDir = deps.config.run.varDir;
  // Datasets are read once per process (they never change); an episode shuffles and splits its own copy.
  const datasets = new Map<string, Dataset>();
  const dataset = (config: unknown): Dataset => {
    const key = JSON.stringify(config);
    let loaded = datasets.get(key);
    if (!loaded) {
      loaded = loadDataset(config as Parameters<typeof loadDataset>[0]);
      datasets.set(key, loaded);
    }
    return loaded;
  };

  function begin(ctx: ActorContext<EpisodeRunnerMessage>, state: RunnerState, request: v1.EpisodeRequest): RunnerState {
    const answer = ctx.replyLater();
    if (!answer) {
      ctx.log.warn('episode request without an ask: ignored', { episode: request.episodeId });
      return state;
    }
    const fail = (error: string): RunnerState => {
      answer(failedEpisode(request, error));
      return state;
    };
    if (state.inFlight) return fail(`busy with episode ${state.inFlight.request.episodeId}`);
    if (!curriculum) return fail('this worker has no curriculum');
    let task: CurriculumTask;
    let policy: PolicySpec | null;
    try {
      task = validateTask(JSON.parse(request.taskJson) as unknown, `episode ${request.episodeId}: task`);
      policy = episodePolicy(request, deps);
    } catch (error) {
      return fail((error as Error).message);
    }
    const growth = policy !== null;
    const config: EsperConfig = experimentConfig(
      episodeExperiment(curriculum, task, request.rngSeed, growth),
      deps.config,
    );
    const settings = resolveTolariaConfig(config.tolaria ?? {});
    const runDir = join(varDir, 'episodes', request.episodeId);
    const setup: TrainerSetup = {
      settings,
      runId: request.episodeId,
      runDir,
      resume: false,
      dataset: dataset(settings.dataset),
    };
    const record = new EpisodeRecord();
    const name = `episode-${state.episodes + 1}`;
    const nodes: TreeNode[] = [
      ...(growth
        ? [
            { id: 'kasmina', worker: 'kasmina-manager', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
            { id: 'tamiyo', worker: 'tamiyo-controller', restart: RestartPolicy.RESTART_POLICY_PERMANENT },
          ]
        : []),
      // As in esper run: a finished run is not restarted; after a crash the trainer resumes from its checkpoint.
      { id: 'tolaria', worker: 'tolaria-trainer', restart: RestartPolicy.RESTART_POLICY_TRANSIENT, shutdownMs: 5_000 },
    ];
    const path = `${ctx.path}/${name}`;
    const episodeDeps: WorkerDeps = {
      ...deps,
      config: {
        ...config,
        run: deps.config.run,
        weatherlight: { ...deps.config.weatherlight, tree: treeAt(path, nodes) },
      },
      tolaria: setup,
      surface: new TrainingSurface(),
      training: { epoch: (summary) => record.epoch(summary), finished: (result) => record.finished(result) },
      kasmina: resolveKasminaConfig(config.kasmina ?? {}, 'kasmina'),
      tamiyo: resolveTamiyoConfig(config.tamiyo ?? {}, {}, 'tamiyo'),
      policy: policy ?? HEURISTIC_POLICY,
    };
    const spec = buildTree(
      {
        id: name,
        flags: { strategy: SupervisionStrategy.SUPERVISION_STRATEGY_ONE_FOR_ALL, intensity: 3, periodMs: 60_000 },
        children: nodes,
      },
      kinds,
      episodeDeps,
      `episode ${request.episodeId}`,
    );
    const subtree = ctx.spawn(supervisorLogic(deps.system, spec), {
      name,
      shutdownMs: 30_000,
      // A subtree that gives up ends the episode: it is stopped, and its Terminated carries the error.
      onFailure: (failure, ref) => {
        ctx.log.warn('episode subtree failed', { episode: request.episodeId, error: failure.error });
        void deps.system.decide(ref, leyline.SupervisorDirective.SUPERVISOR_DIRECTIVE_STOP);
      },
    }) as AnyRef;
    const trainer: AnyRef = { path: `${path}/tolaria`, system: deps.system.name };
    ctx.watch(subtree);
    // The trainer is the subtree's last child: watched once the subtree has started it.
    void deps.system.whenStarted(subtree).then(() => ctx.watch(trainer));
    return {
      episodes: state.episodes + 1,
      inFlight: {
        request,
        answer,
        subtree,
        trainer,
        record,
        runDir,
        policyVersion: policy?.version ?? 'none',
        startedAt: performance.now(),
      },
    };
  }

  async function end(state: RunnerState, error: string | null): Promise<RunnerState> {
    const episode = state.inFlight!;
    await deps.system.stopWithin(episode.subtree, TerminationReason.TERMINATION_REASON_NORMAL, 30_000);
    const seconds = (performance.now() - episode.startedAt) / 1000;
    let reports: v1.FieldReport[] = [];
    try {
      reports = readReports(varDir, episode.request.episodeId);
    } catch (readError) {
      error ??= `field reports unreadable: ${(readError as Error).message}`;
    }
    const result = episode.record.toResult(episode.request, reports, episode.policyVersion, seconds);
    if (error) {
      result.ok = false;
      result.error = error;
    }
    rmSync(episode.runDir, { recursive: true, force: true });
    episode.answer(result);
    return { ...state, inFlight: null };
  }

  return {
    kind: 'episode-runner',
    accepts: [leyline.EpisodeRequest, leyline.Terminated],
    start: () => ({ episodes: 0, inFlight: null }),
    receive(state, message, ctx) {
      if (message instanceof leyline.EpisodeRequest) return begin(ctx, state, message);
      const episode = state.inFlight;
      // Other runtime notices (a child started) are not the end of anything.
      if (!episode || !(message instanceof leyline.Terminated)) return state;
      if (message.path === episode.trainer.path)
        return end(
          state,
          message.reason === TerminationReason.TERMINATION_REASON_NORMAL
            ? null
            : `the trainer ended: ${message.error || 'stopped'}`,
        );
      if (message.path === episode.subtree.path)
        return end(state, `the episode's subtree ended: ${message.error || 'stopped'}`);
      return state;
    },
    async stop(state) {
      if (state.inFlight) await end(state, 'the episode worker is stopping');
    },
    inspect: (state) => ({ episodes: String(state.episodes), running: state.inFlight?.request.episodeId ?? '' }),
  };
}

/** Every decision of one episode, from Tamiyo's field-report log (the episode's subtree has stopped: it is whole). */
function readReports(varDir: string, runId: string): v1.FieldReport[] {
  const log = new FieldReportLog(fieldReportsPath(join(varDir, 'tamiyo')));
  try {
    return log
      .reports()
      .filter((report) => report.trainingRunId === runId)
      .sort((a, b) => (a.metrics?.['decision.epoch'] ?? 0) - (b.metrics?.['decision.epoch'] ?? 0));
  } finally {
    log.close();
  }
}
