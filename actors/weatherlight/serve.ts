// `esper serve <subsystem>`: one subsystem in a process of its own, on a shared bus. Its tree is the configured
// one cut down to the root, the health reporter, Oona's bus and that subsystem's supervisor; the subsystem finds
// its peers on the bus (Simic: field reports in, policy updates out).
import { ConfigError, type EsperConfig, type TreeNode } from './esper-config.ts';

/** Subsystems that work over the bus alone, and what each reads and writes there. */
export const SERVABLE: Readonly<Record<string, string>> = {
  nissa:
    'reads telemetry, the emergency stream, state and field reports (group nissa); serves /metrics, /healthz, /metrics/summary, /api/documents',
  simic: 'reads completed field reports (oona.normal, group simic); publishes policy updates (oona.policy)',
  tezzeret:
    'takes compile jobs one at a time (oona.kernels.compile, group tezzeret); publishes KernelArtifacts (oona.kernels.artifacts) and failures (oona.kernels.errors)',
};

export function servingConfig(config: EsperConfig, subsystem: string, busUrl: string | undefined): EsperConfig {
  if (!(subsystem in SERVABLE)) {
    throw new ConfigError(
      'serve',
      `${JSON.stringify(subsystem)} cannot be served on its own; servable: ${Object.keys(SERVABLE).join(', ')}`,
    );
  }
  const root = config.weatherlight.tree;
  const keep = (node: TreeNode): boolean =>
    node.id === 'oona' || node.id === subsystem || node.worker === 'health-reporter';
  const children = (root.children ?? []).filter(keep);
  if (!children.some((node) => node.id === subsystem))
    throw new ConfigError('weatherlight.tree', `has no ${subsystem} supervisor to serve`);
  if (!children.some((node) => node.id === 'oona'))
    throw new ConfigError('weatherlight.tree', 'has no oona supervisor: a served subsystem needs the bus');
  const url = busUrl ?? config.oona?.url ?? 'embedded';
  if (url === 'embedded')
    throw new ConfigError('oona.url', 'a served subsystem needs a shared bus: pass --bus redis://host:port');
  return {
    ...config,
    run: { ...config.run, name: `esper-${subsystem}`, multiProcess: true, serving: subsystem },
    oona: { ...config.oona, url },
    weatherlight: { ...config.weatherlight, tree: { ...root, children } },
  };
}
