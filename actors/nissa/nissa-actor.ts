// Nissa's ingest actor (`nissa/ingest`, kind `nissa-ingest`): takes telemetry (with the emergency stream's),
// system state and completed field reports from the bus into Prometheus series and the document store, and serves
// them over HTTP. A port already taken is logged and the actor runs without HTTP: observability never stops a run.
import type { Server } from 'node:http';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { ActorLogic } from '../../runtime/logic.ts';
import { AlertEngine, type AlertEvent } from './alerts.ts';
import { alertRouter } from './alert-routes.ts';
import { alertsReply } from './alerts-reply.ts';
import { DocumentStore, documentsPath } from './document-store.ts';
import { nissaHttpServer, type Health } from './http-server.ts';
import { NissaIngest, type Ingestible } from './ingest.ts';
import { NissaMetrics } from './prometheus.ts';
import type { NissaSettings } from './settings.ts';
import { SloTracker, sloRetentionMs } from './slo.ts';

export interface NissaDeps {
  settings: NissaSettings;
  /** `<varDir>/nissa`: the document store. */
  stateDir: string;
  health: () => Health;
  /** Process-local observer of every alert fired or resolved (the run record); never sent anywhere. */
  onAlert?: (event: AlertEvent) => void;
}

interface NissaState {
  ingest: NissaIngest;
  documents: DocumentStore;
  server: Server | null;
  /** Where the HTTP server listens (its port, when configured as 0… is never: 0 means off). */
  address: string | null;
}

const RETENTION = 'nissa.retention';

export function nissaLogic(deps: NissaDeps): ActorLogic<NissaState, Ingestible | v1.TimerFired | v1.InspectorRequest> {
  // The dashboard's "current run" is one that reported since this Nissa started (not since its latest restart).
  const startedAt = Date.now();
  // The series, alert state and SLO windows outlive a restart of the actor (counters must not go back to zero, an
  // alert firing must not fire again).
  const metrics = new NissaMetrics({
    maxSeriesNames: deps.settings.maxSeriesNames,
    maxLabelSets: deps.settings.maxLabelSets,
  });
  let log: (level: 'warn' | 'info', text: string) => void = () => undefined;
  const alerts = new AlertEngine(
    deps.settings.alerts,
    alertRouter({
      webhookUrl: deps.settings.webhookUrl,
      log: (level, text) => log(level, text),
      counted: (event) => {
        metrics.alertEvent(event.rule, event.kind);
        deps.onAlert?.(event);
      },
      webhookFailed: () => metrics.webhookFailed(),
    }),
  );
  const slo = new SloTracker(sloRetentionMs(alerts.rules));
  return {
    kind: 'nissa-ingest',
    accepts: [
      leyline.TelemetryPacket,
      leyline.SystemStatePacket,
      leyline.FieldReport,
      leyline.TimerFired,
      leyline.InspectorRequest,
    ],
    async start(ctx) {
      const documents = new DocumentStore(documentsPath(deps.stateDir), deps.settings.retentionMs);
      const ingest = new NissaIngest(metrics, documents, alerts, slo);
      log = (level, text) => (level === 'warn' ? ctx.log.warn(text) : ctx.log.info(text));
      ctx.every(RETENTION, 3_600_000);
      const state: NissaState = { ingest, documents, server: null, address: null };
      if (deps.settings.port === 0) return state;
      const server = nissaHttpServer({ ingest, documents, health: deps.health, since: startedAt });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(deps.settings.port, deps.settings.host, () => resolve());
        });
        server.unref();
        state.server = server;
        state.address = `http://${deps.settings.host}:${deps.settings.port}`;
        ctx.log.info('nissa serving', { url: state.address });
      } catch (error) {
        ctx.log.warn(
          `nissa: no HTTP server on ${deps.settings.host}:${deps.settings.port}: ${(error as Error).message}; ingest goes on`,
        );
      }
      return state;
    },
    receive(state, message, ctx) {
      if (message instanceof leyline.InspectorRequest) {
        ctx.reply(alertsReply(message, alerts));
        return state;
      }
      if (message instanceof leyline.TimerFired) {
        if (message.timerId === RETENTION) state.documents.expire();
        return state;
      }
      state.ingest.ingest(message);
      return state;
    },
    async stop(state) {
      if (state.server) await new Promise<void>((resolve) => state.server?.close(() => resolve()));
      state.documents.close();
    },
    inspect: (state) => ({
      http: state.address ?? 'off',
      documents: String(state.documents.count()),
      telemetry: String(state.ingest.counts.telemetry),
      field_reports: String(state.ingest.counts.field_report),
      series_names: String(metrics.seriesNames),
    }),
  };
}
