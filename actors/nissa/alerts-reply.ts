// Nissa's answer to the inspector's alerts query: the events of rules routed to the inspector (the history, oldest
// first, and those firing now) as Leyline AlertRecords.
import { leyline, type v1 } from '../../contracts/index.ts';
import { toTimestamp } from '../../contracts/time.ts';
import type { AlertEngine, AlertEvent } from './alerts.ts';

const forInspector = (event: AlertEvent): boolean => event.routes.includes('inspector');

function record(event: AlertEvent): v1.AlertRecord {
  return leyline.AlertRecord.create({
    rule: event.rule,
    metric: event.metric,
    source: event.source,
    value: event.value,
    threshold: event.threshold,
    resolved: event.kind === 'resolved',
    at: toTimestamp(event.at),
  });
}

export function alertsReply(request: v1.InspectorRequest, engine: AlertEngine): v1.InspectorReply {
  const history = engine.history().filter(forInspector);
  const limit = request.alerts?.limit || history.length;
  return leyline.InspectorReply.create({
    requestId: request.requestId,
    ok: true,
    alerts: history.slice(-limit).map(record),
    activeAlerts: engine.active().filter(forInspector).map(record),
  });
}
