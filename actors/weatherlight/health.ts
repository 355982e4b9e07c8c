// The periodic health summary of the supervision tree, as a TelemetryPacket (pure: the reporter actor feeds it
// the tree and counters, tests feed it fixtures).
import { leyline, type v1 } from '../../contracts/index.ts';
import { buildTelemetryPacket, type EventInput, type MetricInput } from '../../contracts/telemetry.ts';
import { fromTimestamp } from '../../contracts/time.ts';

const { ActorStatus, HealthStatus, TelemetryLevel } = leyline;

export interface HealthInputs {
  workers: readonly v1.WorkerState[];
  uptimeMs: number;
  now: number;
  /** Runtime counters: dead letters, refused payloads, ask timeouts, internal errors. */
  counters: Readonly<Record<string, number>>;
  packetId: string;
}

/** "/weatherlight/kasmina" → "weatherlight.kasmina": a path as a metric-name segment. */
export const metricSegment = (path: string): string => path.replace(/^\//, '').replaceAll('/', '.');

export function buildHealthPacket(input: HealthInputs): v1.TelemetryPacket {
  const { workers } = input;
  const running = workers.filter((w) => w.running).length;
  const backingOff = workers.filter((w) => w.status === ActorStatus.ACTOR_STATUS_BACKING_OFF);
  const erring = workers.filter((w) => w.lastError !== '');
  const restarts = workers.reduce((sum, w) => sum + w.restartCount, 0);
  const lastErrorMs = Math.max(0, ...erring.map((w) => (w.lastErrorAt ? fromTimestamp(w.lastErrorAt) : 0)));

  const metrics: MetricInput[] = [
    { name: 'weatherlight.tasks.running', value: running, unit: 'count' },
    { name: 'weatherlight.tasks.backing_off', value: backingOff.length, unit: 'count' },
    { name: 'weatherlight.uptime_s', value: input.uptimeMs / 1000, unit: 'seconds' },
    { name: 'weatherlight.restarts_total', value: restarts, unit: 'count' },
  ];
  if (lastErrorMs > 0) metrics.push({ name: 'weatherlight.last_error_ts', value: lastErrorMs / 1000, unit: 'unix_s' });
  for (const worker of workers) {
    const name = `weatherlight.worker.${metricSegment(worker.path)}`;
    metrics.push({ name: `${name}.running`, value: worker.running ? 1 : 0, unit: 'bool' });
    metrics.push({ name: `${name}.restarts`, value: worker.restartCount, unit: 'count' });
    metrics.push({ name: `${name}.mailbox_depth`, value: worker.mailboxDepth, unit: 'count' });
    if (worker.backoffSeconds > 0)
      metrics.push({ name: `${name}.backoff_seconds`, value: worker.backoffSeconds, unit: 'seconds' });
  }
  for (const [key, value] of Object.entries(input.counters))
    metrics.push({ name: `runtime.${key}`, value, unit: 'count' });

  const events: EventInput[] = erring.map((worker) => ({
    description: 'worker_error',
    level: TelemetryLevel.TELEMETRY_LEVEL_WARNING,
    attributes: {
      worker: worker.path,
      error: worker.lastError,
      last_error_ts: worker.lastErrorAt ? (fromTimestamp(worker.lastErrorAt) / 1000).toFixed(3) : '',
      restarts: String(worker.restartCount),
    },
  }));

  const [status, summary] =
    backingOff.length > 0
      ? [HealthStatus.HEALTH_STATUS_DEGRADED, 'backoff']
      : erring.length > 0
        ? [HealthStatus.HEALTH_STATUS_DEGRADED, 'recent_error']
        : [HealthStatus.HEALTH_STATUS_HEALTHY, 'steady'];

  return buildTelemetryPacket({
    packetId: input.packetId,
    source: 'weatherlight',
    level: TelemetryLevel.TELEMETRY_LEVEL_INFO,
    metrics,
    events,
    healthStatus: status,
    healthSummary: summary,
    healthIndicators: { workers_running: String(running), workers_backing_off: String(backingOff.length) },
    timestamp: input.now,
  });
}

/** The tree's health for probes (Nissa's /healthz): unhealthy while any actor is backing off or held after a failure. */
export function treeHealth(workers: readonly v1.WorkerState[]): {
  healthy: boolean;
  summary: string;
  details: Record<string, unknown>;
} {
  const troubled = workers.filter(
    (w) => w.status === ActorStatus.ACTOR_STATUS_BACKING_OFF || w.status === ActorStatus.ACTOR_STATUS_SUSPENDED,
  );
  return {
    healthy: troubled.length === 0,
    summary: troubled.length === 0 ? 'steady' : `${troubled.length} actor(s) backing off or held after a failure`,
    details: {
      actors: workers.length,
      running: workers.filter((w) => w.running).length,
      troubled: troubled.map((w) => ({
        path: w.path,
        status: (leyline.ActorStatus[w.status] ?? '').replace('ACTOR_STATUS_', '').toLowerCase(),
        last_error: w.lastError,
      })),
      restarts: workers.reduce((sum, w) => sum + w.restartCount, 0),
    },
  };
}
