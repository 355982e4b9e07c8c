// `esper drills`: makes each configured alert rule (the defaults unless the config sets `nissa.alerts`) fire and clear —
// standalone (a Nissa in this process), or against a running system (`--bus redis://… --nissa http://host:port`:
// drill telemetry on its bus, events read from its Nissa, which must run the same rules).
import {
  AlertEngine,
  DocumentStore,
  NissaIngest,
  NissaMetrics,
  resolveNissaConfig,
  runDrills,
  SloTracker,
  sloRetentionMs,
  type AlertEvent,
  type DrillResult,
} from '../actors/nissa/index.ts';
import { OonaClient, resolveOonaConfig } from '../actors/oona/index.ts';
import { signatureContextFromEnv } from '../contracts/signing.ts';
import { resolveConfig } from './config.ts';
import { UsageError } from './forge.ts';

export const DRILLS_USAGE = `  drills [config.ts] [--bus redis://host:port --nissa http://host:port]
                    make each alert rule (the defaults, or the config's) fire and clear: in this process,
                    or through a running system's bus and Nissa; exits 1 if any drill did not trigger and clear
`;

export async function drills(args: readonly string[]): Promise<number> {
  let file: string | undefined;
  let bus: string | undefined;
  let nissaUrl: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--bus' || arg === '--nissa') {
      const value = args[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a URL`);
      if (arg === '--bus') bus = value;
      else nissaUrl = value.replace(/\/$/, '');
    } else if (arg.startsWith('--')) throw new UsageError(`esper drills: unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`esper drills: unexpected argument ${arg}`);
  }
  if ((bus === undefined) !== (nissaUrl === undefined))
    throw new UsageError('esper drills: --bus and --nissa go together (a running system), or neither (standalone)');
  const { config } = await resolveConfig(file);
  const settings = resolveNissaConfig(config.nissa ?? {}, 'nissa');

  let results: DrillResult[];
  if (bus && nissaUrl) {
    const client = new OonaClient({
      settings: resolveOonaConfig({ ...config.oona, url: bus }, '--bus'),
      signing: signatureContextFromEnv(),
      source: 'drills',
    });
    if (!(await client.connect(5_000))) throw new Error(`the bus at ${bus} does not answer`);
    const summaryUrl = `${nissaUrl}/metrics/summary`;
    try {
      results = await runDrills(
        settings.alerts,
        async (packet) => {
          client.publish(packet);
          await client.flush();
        },
        async () => ((await (await fetch(summaryUrl)).json()) as { alerts: { recent: AlertEvent[] } }).alerts.recent,
        { timeoutMs: 20_000 },
      );
    } finally {
      await client.close();
    }
  } else {
    const documents = new DocumentStore(':memory:', settings.retentionMs);
    const engine = new AlertEngine(settings.alerts, () => undefined);
    const ingest = new NissaIngest(
      new NissaMetrics(settings),
      documents,
      engine,
      new SloTracker(sloRetentionMs(engine.rules)),
    );
    results = await runDrills(
      engine.rules,
      (packet) => ingest.ingest(packet),
      () => engine.history(),
      { timeoutMs: 0 },
    );
    documents.close();
  }
  for (const result of results) {
    const fired = result.triggered;
    process.stdout.write(`Drill ${result.rule}: triggered=${fired !== null} cleared=${result.cleared !== null}\n`);
    if (fired)
      process.stdout.write(
        `  routes=${fired.routes.join(',')} value=${fired.value}${fired.window ? ` window=${fired.window}` : ''}\n`,
      );
  }
  const passed = results.every((r) => r.triggered && r.cleared);
  process.stdout.write(
    `esper drills: ${results.filter((r) => r.triggered && r.cleared).length}/${results.length} alerts triggered and cleared${bus ? ` through ${bus} and ${nissaUrl}` : ' (standalone)'}\n`,
  );
  return passed ? 0 : 1;
}
