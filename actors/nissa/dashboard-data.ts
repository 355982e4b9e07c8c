// What the live dashboard shows, assembled from the document store and the alert engine: the runs the store holds
// (the current one by default), and of the run shown its training curves per epoch, each seed's stage and α at each
// control boundary (by slot) and Tamiyo's decisions; of the live system, alerts and the supervision tree from the
// latest health packet. Pure: the HTTP server serves it as JSON (`/api/dashboard?run=`).
//
// One folder's store keeps every run that ever reported to it, so nothing is drawn from documents of another run: a
// run's system state packets (one per control boundary) and field reports carry its id, Tolaria's epoch packets carry
// it in their packet id (`<run>-epoch-<n>`). Other telemetry names no run; of it only the slot a seed sits in is read.
import { leyline } from '../../contracts/index.ts';
import type { AlertEngine, AlertEvent } from './alerts.ts';
import type { DocumentStore, RunSpan, StoredDocument } from './document-store.ts';

const { BusMessageType: T } = leyline;

interface Metric {
  name?: string;
  value?: number;
  attributes?: Record<string, string>;
}

interface TelemetryBody {
  packetId?: string;
  metrics?: Metric[];
  systemHealth?: { indicators?: Record<string, string> };
}

interface StateBody {
  /** 64-bit: a decimal string in the document. */
  globalStep?: string;
  seedStates?: Array<{ seedId?: string; stage?: number; metrics?: Record<string, number> }>;
}

export interface DashboardRun {
  id: string;
  /** Its first and latest document (epoch ms). */
  startedAt: number;
  updatedAt: number;
  /** The run shown when none is asked for. */
  current: boolean;
}

export interface DashboardData {
  /** The run shown; null when none is asked for and none has reported since this Nissa started. */
  run: string | null;
  /** Every run in the store, newest first. */
  runs: DashboardRun[];
  /** One point per finished epoch (1-based), in order; an epoch trained again after a resume counts once (its latest). */
  training: Array<{
    epoch: number;
    at: number;
    loss: number | null;
    validationLoss: number | null;
    accuracy: number | null;
    validationAccuracy: number | null;
  }>;
  /** Each seed as each control boundary left it; `epoch`: where the boundary fell, in epochs (mid-epoch ones between). */
  seeds: Array<{ seedId: string; slot: string; points: Array<{ epoch: number; stage: string; alpha: number }> }>;
  /** What each epoch's control boundary decided (Tolaria's epoch packets say it in words, as the progress line does). */
  decisions: Array<{ at: number; epoch: number; decision: string }>;
  alerts: { active: AlertEvent[]; recent: AlertEvent[] };
  tree: Array<{ path: string; running: boolean; restarts: number; mailbox: number }>;
  updatedAt: number;
}

export interface DashboardQuery {
  /** A run's id; default the current run. */
  run?: string;
  /** When this Nissa started (epoch ms): a run with no document since is an earlier run, never the current one. */
  since: number;
  now?: number;
}

const STAGES = leyline.SeedLifecycleStage;

export function stageName(stage: number): string {
  return (STAGES[stage] ?? 'UNKNOWN').replace('SEED_STAGE_', '').toLowerCase();
}

/** The run shown by default: of those that reported since `since`, the one that reported last. */
export function currentRun(runs: readonly RunSpan[], since: number): string | null {
  const live = runs.filter((run) => run.lastMs >= since);
  return live.length === 0 ? null : live.reduce((a, b) => (b.lastMs >= a.lastMs ? b : a)).runId;
}

/**
 * Where global step `step` falls, in epochs: `ends` are the steps at which epochs 1, 2, … ended. Between two ends it
 * is interpolated; past the last, the epoch in progress is taken to be as long as the last one (never past its end).
 */
export function epochPosition(step: number, ends: ReadonlyMap<number, number>): number {
  const known = [[0, 0], ...[...ends].sort(([a], [b]) => a - b)] as Array<[number, number]>;
  for (let i = 1; i < known.length; i++) {
    const [epoch, end] = known[i]!;
    const [before, start] = known[i - 1]!;
    if (step <= end)
      return end === start ? epoch : before + ((epoch - before) * Math.max(0, step - start)) / (end - start);
  }
  if (known.length < 2) return 0;
  const [lastEpoch, lastEnd] = known[known.length - 1]!;
  const [previousEpoch, previousEnd] = known[known.length - 2]!;
  const length = (lastEnd - previousEnd) / (lastEpoch - previousEpoch);
  return length > 0 ? lastEpoch + Math.min(1, (step - lastEnd) / length) : lastEpoch;
}

const telemetryOf = (doc: StoredDocument): TelemetryBody => doc.body as TelemetryBody;
const metricsOf = (body: TelemetryBody): Map<string, Metric> =>
  new Map((body.metrics ?? []).map((m) => [m.name ?? '', m]));

/** The dashboard for `query.run` (default the current run); null when the store names no such run. */
export function dashboardData(
  documents: DocumentStore,
  alerts: Pick<AlertEngine, 'active' | 'history'>,
  query: DashboardQuery,
): DashboardData | null {
  const spans = documents.runs();
  const current = currentRun(spans, query.since);
  const runId = query.run ?? current;
  const span = spans.find((s) => s.runId === runId);
  if (query.run !== undefined && !span) return null;
  const shown = span ? runData(documents, span) : { training: [], seeds: [], decisions: [] };
  return {
    run: span?.runId ?? null,
    runs: spans
      .map((s) => ({ id: s.runId, startedAt: s.firstMs, updatedAt: s.lastMs, current: s.runId === current }))
      .reverse(),
    ...shown,
    alerts: { active: alerts.active(), recent: alerts.history().slice(-20) },
    tree: treeOf(documents),
    updatedAt: query.now ?? Date.now(),
  };
}

function runData(documents: DocumentStore, span: RunSpan): Pick<DashboardData, 'training' | 'seeds' | 'decisions'> {
  // Newest first: of an epoch or a boundary seen twice (trained again after a resume), the first seen is the latest.
  const epochPacket = /^(.*)-epoch-(\d+)$/;
  const byEpoch = new Map<number, StoredDocument>();
  for (const doc of documents.query({
    kind: T.BUS_MESSAGE_TYPE_TELEMETRY,
    source: 'tolaria',
    fromMs: span.firstMs,
    limit: 1_000,
  })) {
    const match = epochPacket.exec(telemetryOf(doc).packetId ?? '');
    if (match?.[1] !== span.runId) continue;
    const epoch = Number(match[2]) + 1;
    if (!byEpoch.has(epoch)) byEpoch.set(epoch, doc);
  }
  const epochs = [...byEpoch].sort(([a], [b]) => a - b);

  const training = epochs.flatMap(([epoch, doc]) => {
    const m = metricsOf(telemetryOf(doc));
    if (!m.has('tolaria.training.loss')) return [];
    const get = (name: string): number | null => m.get(name)?.value ?? null;
    return [
      {
        epoch,
        at: doc.timeMs,
        loss: get('tolaria.training.loss'),
        validationLoss: get('tolaria.validation.loss'),
        accuracy: get('tolaria.training.accuracy'),
        validationAccuracy: get('tolaria.validation.accuracy'),
      },
    ];
  });
  const decisions = epochs.flatMap(([epoch, doc]) => {
    const decision = telemetryOf(doc).systemHealth?.indicators?.decision;
    return decision ? [{ at: doc.timeMs, epoch, decision }] : [];
  });

  const ends = new Map(
    epochs
      .map(([epoch, doc]) => [epoch, Number(telemetryOf(doc).systemHealth?.indicators?.global_step ?? NaN)] as const)
      .filter(([, step]) => Number.isFinite(step)),
  );
  const boundaries = new Map<number, StateBody>();
  for (const doc of documents.query({ kind: T.BUS_MESSAGE_TYPE_SYSTEM_STATE, runId: span.runId, limit: 1_000 })) {
    const body = doc.body as StateBody;
    const step = Number(body.globalStep ?? 0);
    if (!boundaries.has(step)) boundaries.set(step, body);
  }
  // A boundary's state packet carries the seeds as the boundary before it left them (its own decision comes after).
  const seeds = new Map<string, DashboardData['seeds'][number]>();
  let previous = 0;
  for (const [step, body] of [...boundaries].sort(([a], [b]) => a - b)) {
    for (const seed of body.seedStates ?? []) {
      if (!seed.seedId) continue;
      const entry = seeds.get(seed.seedId) ?? { seedId: seed.seedId, slot: '', points: [] };
      entry.points.push({ epoch: previous, stage: stageName(seed.stage ?? 0), alpha: seed.metrics?.alpha ?? 0 });
      seeds.set(seed.seedId, entry);
    }
    previous = epochPosition(step, ends);
  }
  // Kasmina's boundary packets name a seed's slot (a seed's id is unique within a run only, hence: since it began).
  for (const doc of documents.query({
    kind: T.BUS_MESSAGE_TYPE_TELEMETRY,
    source: 'kasmina',
    fromMs: span.firstMs,
    limit: 1_000,
  })) {
    const stage = metricsOf(telemetryOf(doc)).get('kasmina.seed.stage')?.attributes;
    const entry = seeds.get(stage?.seed_id ?? '');
    if (entry && !entry.slot && stage?.slot) entry.slot = stage.slot;
  }
  return { training, seeds: [...seeds.values()], decisions: decisions.slice(-50) };
}

function treeOf(documents: DocumentStore): DashboardData['tree'] {
  const [health] = documents.query({ kind: T.BUS_MESSAGE_TYPE_TELEMETRY, source: 'weatherlight', limit: 1 });
  const tree = new Map<string, DashboardData['tree'][number]>();
  if (!health) return [];
  for (const metric of telemetryOf(health).metrics ?? []) {
    const match = /^weatherlight\.worker\.(.+)\.(running|restarts|mailbox_depth)$/.exec(metric.name ?? '');
    if (!match) continue;
    const path = `/${(match[1] as string).replaceAll('.', '/')}`;
    const node = tree.get(path) ?? { path, running: false, restarts: 0, mailbox: 0 };
    const value = metric.value ?? 0;
    if (match[2] === 'running') node.running = value === 1;
    else if (match[2] === 'restarts') node.restarts = value;
    else node.mailbox = value;
    tree.set(path, node);
  }
  return [...tree.values()];
}
