// What the live dashboard shows, assembled from the document store and the alert engine: training curves per
// epoch, each seed's stage and α over time (by slot), Tamiyo's decisions, alerts, and the supervision tree from the
// latest health packet. Pure: the HTTP server serves it as JSON (`/api/dashboard`).
import { leyline } from '../../contracts/index.ts';
import type { AlertEngine, AlertEvent } from './alerts.ts';
import type { DocumentStore, StoredDocument } from './document-store.ts';

const { BusMessageType: T } = leyline;

interface PacketBody {
  metrics?: Array<{ name?: string; value?: number; attributes?: Record<string, string> }>;
  events?: Array<{ description?: string; attributes?: Record<string, string> }>;
  systemHealth?: { summary?: string; indicators?: Record<string, string> };
}

export interface DashboardData {
  training: Array<{
    epoch: number;
    at: number;
    loss: number | null;
    validationLoss: number | null;
    accuracy: number | null;
    validationAccuracy: number | null;
  }>;
  seeds: Array<{ seedId: string; slot: string; points: Array<{ at: number; stage: number; alpha: number }> }>;
  /** What each control boundary decided (Tolaria's epoch packets say it in words). */
  decisions: Array<{ at: number; epoch: number; decision: string }>;
  alerts: { active: AlertEvent[]; recent: AlertEvent[] };
  tree: Array<{ path: string; running: boolean; restarts: number; mailbox: number }>;
  updatedAt: number;
}

const STAGES = leyline.SeedLifecycleStage;

export function stageName(stage: number): string {
  return (STAGES[stage] ?? 'UNKNOWN').replace('SEED_STAGE_', '').toLowerCase();
}

function metricsOf(doc: StoredDocument): Map<string, { value: number; attributes: Record<string, string> }> {
  const body = doc.body as PacketBody;
  return new Map(
    (body.metrics ?? []).map((m) => [m.name ?? '', { value: m.value ?? 0, attributes: m.attributes ?? {} }]),
  );
}

export function dashboardData(documents: DocumentStore, alerts: AlertEngine, now = Date.now()): DashboardData {
  const telemetry = (source: string, limit = 500): StoredDocument[] =>
    documents.query({ kind: T.BUS_MESSAGE_TYPE_TELEMETRY, source, limit }).reverse();

  const tolaria = telemetry('tolaria');
  const training = tolaria.flatMap((doc) => {
    const body = doc.body as PacketBody;
    const epoch = Number(body.systemHealth?.indicators?.epoch ?? NaN);
    const m = metricsOf(doc);
    if (!Number.isFinite(epoch) || !m.has('tolaria.training.loss')) return [];
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

  const seeds = new Map<string, DashboardData['seeds'][number]>();
  for (const doc of telemetry('kasmina', 1_000)) {
    const m = metricsOf(doc);
    const stage = m.get('kasmina.seed.stage');
    if (!stage?.attributes.seed_id) continue;
    const seedId = stage.attributes.seed_id;
    const entry = seeds.get(seedId) ?? { seedId, slot: '', points: [] };
    // Kasmina's boundary packets name the slot; a seed's own packets may not.
    entry.slot ||= stage.attributes.slot ?? '';
    entry.points.push({ at: doc.timeMs, stage: stage.value, alpha: m.get('kasmina.seed.alpha')?.value ?? 0 });
    seeds.set(seedId, entry);
  }

  const decisions = tolaria.flatMap((doc) => {
    const indicators = (doc.body as PacketBody).systemHealth?.indicators ?? {};
    return indicators.decision
      ? [{ at: doc.timeMs, epoch: Number(indicators.epoch ?? 0), decision: indicators.decision }]
      : [];
  });

  const [health] = documents.query({ kind: T.BUS_MESSAGE_TYPE_TELEMETRY, source: 'weatherlight', limit: 1 });
  const tree = new Map<string, DashboardData['tree'][number]>();
  if (health) {
    for (const [name, { value }] of metricsOf(health)) {
      const match = /^weatherlight\.worker\.(.+)\.(running|restarts|mailbox_depth)$/.exec(name);
      if (!match) continue;
      const path = `/${(match[1] as string).replaceAll('.', '/')}`;
      const node = tree.get(path) ?? { path, running: false, restarts: 0, mailbox: 0 };
      if (match[2] === 'running') node.running = value === 1;
      else if (match[2] === 'restarts') node.restarts = value;
      else node.mailbox = value;
      tree.set(path, node);
    }
  }

  return {
    training,
    seeds: [...seeds.values()],
    decisions: decisions.slice(-50),
    alerts: { active: alerts.active(), recent: alerts.history().slice(-20) },
    tree: [...tree.values()],
    updatedAt: now,
  };
}
