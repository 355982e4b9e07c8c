// Nissa's package surface.
export { nissaLogic, type NissaDeps } from './nissa-actor.ts';
export { resolveNissaConfig, NissaConfigError, type NissaConfig, type NissaSettings } from './settings.ts';
export {
  DocumentStore,
  documentsPath,
  type DocumentQuery,
  type StoredDocument,
  type DocumentKind,
} from './document-store.ts';
export { NissaMetrics, seriesName } from './prometheus.ts';
export { NissaIngest } from './ingest.ts';
export { AlertEngine, type AlertEvent } from './alerts.ts';
export {
  ALERT_RULE_SCHEMA,
  DEFAULT_ALERT_RULES,
  type AlertRule,
  type BurnRateRule,
  type ThresholdRule,
} from './alert-rules.ts';
export { SloTracker, sloRetentionMs } from './slo.ts';
export { runDrills, type DrillResult } from './drills.ts';
