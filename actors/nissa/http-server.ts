// Nissa's HTTP surface (node:http): GET / (the live dashboard) and /api/dashboard?run= (its data and charts, of the
// current run or the one named), GET /metrics (Prometheus text exposition), GET /healthz (the supervision tree's
// health: 200 when healthy, 503 otherwise), GET /metrics/summary (JSON), GET /api/documents (the query API:
// kind, run, source, from, to (epoch ms), event, limit).
import { createServer, type Server } from 'node:http';
import { leyline } from '../../contracts/index.ts';
import type { DocumentQuery, DocumentStore } from './document-store.ts';
import { dashboardData } from './dashboard-data.ts';
import { DASHBOARD_HTML, dashboardCharts } from './dashboard-page.ts';
import type { NissaIngest } from './ingest.ts';

export interface Health {
  healthy: boolean;
  summary: string;
  details: Record<string, unknown>;
}

export interface NissaHttpDeps {
  ingest: NissaIngest;
  documents: DocumentStore;
  health: () => Health;
  /** When this Nissa started (epoch ms; default: when the server was made): the dashboard's current run is one that reported since. */
  since?: number;
}

const { BusMessageType: T } = leyline;
/** The kinds a document can have, by the lower-case name of their BusMessageType (`?kind=field_report`). */
const KINDS = new Map(
  [T.BUS_MESSAGE_TYPE_TELEMETRY, T.BUS_MESSAGE_TYPE_SYSTEM_STATE, T.BUS_MESSAGE_TYPE_FIELD_REPORT].map((type) => [
    (T[type] ?? '').replace('BUS_MESSAGE_TYPE_', '').toLowerCase(),
    type,
  ]),
);

export function nissaHttpServer(deps: NissaHttpDeps): Server {
  const since = deps.since ?? Date.now();
  return createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://nissa');
    const json = (status: number, body: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') return json(405, { error: `${request.method} not allowed` });
    switch (url.pathname) {
      case '/':
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(DASHBOARD_HTML);
        return;
      case '/api/dashboard': {
        const run = url.searchParams.get('run');
        if (run === '') return json(400, { error: 'run must be a run id (or left out: the current run)' });
        const data = dashboardData(deps.documents, deps.ingest.alerts, { since, ...(run === null ? {} : { run }) });
        if (data === null)
          return json(404, {
            error: `no run ${JSON.stringify(run)} in Nissa's documents`,
            runs: deps.documents.runs().map((r) => r.runId),
          });
        return json(200, { ...data, charts: dashboardCharts(data) });
      }
      case '/metrics':
        void deps.ingest.metrics.registry.metrics().then(
          (text) => {
            response.writeHead(200, { 'content-type': deps.ingest.metrics.registry.contentType });
            response.end(text);
          },
          (error: unknown) => json(500, { error: String(error) }),
        );
        return;
      case '/healthz': {
        const health = deps.health();
        return json(health.healthy ? 200 : 503, {
          status: health.healthy ? 'ok' : 'unhealthy',
          summary: health.summary,
          ...health.details,
        });
      }
      case '/metrics/summary':
        return json(200, {
          ingested: deps.ingest.counts,
          last_ingest_at: deps.ingest.lastIngestAt ? new Date(deps.ingest.lastIngestAt).toISOString() : null,
          series_names: deps.ingest.metrics.seriesNames,
          documents: deps.documents.count(),
          alerts: { active: deps.ingest.alerts.active(), recent: deps.ingest.alerts.history().slice(-50) },
          slo: deps.ingest.sloStatus(),
        });
      case '/api/documents': {
        const parsed = parseQuery(url.searchParams);
        if ('error' in parsed) return json(400, parsed);
        return json(200, { documents: deps.documents.query(parsed) });
      }
      default:
        return json(404, {
          error: `no route ${url.pathname}`,
          routes: ['/', '/api/dashboard', '/metrics', '/healthz', '/metrics/summary', '/api/documents'],
        });
    }
  });
}

function parseQuery(params: URLSearchParams): DocumentQuery | { error: string } {
  const query: DocumentQuery = {};
  const kind = params.get('kind');
  if (kind !== null) {
    const type = KINDS.get(kind);
    if (type === undefined)
      return { error: `kind must be one of ${[...KINDS.keys()].join(', ')}, got ${JSON.stringify(kind)}` };
    query.kind = type;
  }
  for (const [param, key] of [
    ['run', 'runId'],
    ['source', 'source'],
    ['event', 'event'],
  ] as const) {
    const value = params.get(param);
    if (value !== null) query[key] = value;
  }
  for (const [param, key] of [
    ['from', 'fromMs'],
    ['to', 'toMs'],
    ['limit', 'limit'],
  ] as const) {
    const value = params.get(param);
    if (value === null) continue;
    const n = Number(value);
    if (!Number.isFinite(n)) return { error: `${param} must be a number, got ${JSON.stringify(value)}` };
    query[key] = n;
  }
  return query;
}
