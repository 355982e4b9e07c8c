// Nissa's package surface.
export { nissaLogic, type NissaDeps } from './nissa-actor.ts';
export { resolveNissaConfig, NissaConfigError, type NissaConfig, type NissaSettings } from './settings.ts';
export { DocumentStore, documentsPath, type DocumentQuery, type StoredDocument, type DocumentKind } from './document-store.ts';
export { NissaMetrics, seriesName } from './prometheus.ts';
export { NissaIngest } from './ingest.ts';
export { AlertEngine, type AlertEvent, type AlertRule } from './alerts.ts';
export { SloTracker } from './slo.ts';
export { runDrills, type DrillResult } from './drills.ts';
