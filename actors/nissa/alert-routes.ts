// Where alert events go, by route: `log` (a warning line when fired, info when resolved), `webhook` (an HTTP POST of
// the event as JSON; a failure is counted, never thrown) and `inspector` (kept in the engine's history, which
// /metrics/summary and the inspector read — nothing to send).
import type { AlertEvent } from './alerts.ts';

export interface AlertRouteDeps {
  webhookUrl: string | null;
  log: (level: 'warn' | 'info', text: string) => void;
  /** Each event, counted (fired / resolved by rule). */
  counted: (event: AlertEvent) => void;
  webhookFailed: () => void;
  webhookTimeoutMs?: number;
}

export function alertRouter(deps: AlertRouteDeps): (event: AlertEvent) => void {
  return (event) => {
    deps.counted(event);
    if (event.routes.includes('log')) {
      const level = event.window
        ? `factor ${event.threshold}, window pair ${event.window}`
        : `${event.kind === 'fired' ? 'threshold' : 'resolve level'} ${event.threshold}`;
      const text = `alert ${event.rule} ${event.kind} for ${event.source}: ${event.metric} = ${Number(event.value.toPrecision(6))} (${level})`;
      deps.log(event.kind === 'fired' ? 'warn' : 'info', text);
    }
    if (event.routes.includes('webhook') && deps.webhookUrl) {
      fetch(deps.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(deps.webhookTimeoutMs ?? 5_000),
      }).then(
        (response) => {
          if (!response.ok) deps.webhookFailed();
        },
        () => deps.webhookFailed(),
      );
    }
  };
}
