// Who reads what from the bus in a tree (the bus actor's routes), from the kinds the tree has.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { leyline, type v1 } from '../../contracts/index.ts';
import type { ActorRef } from '../../runtime/logic.ts';
import type { BusMessage, BusRoute } from '../oona/index.ts';
import { defaultUrzaRoot } from '../urza/index.ts';
import { pathOfKind } from './tree.ts';
import type { WorkerDeps } from './workers.ts';

const { BusMessageType } = leyline;

/**
 * Who reads what from the bus in this tree: each route's actor found by kind (a tree without it has no route).
 * Consumer groups are named by subsystem, so processes serving the same subsystem share the work of one group.
 */
export function busRoutes(deps: WorkerDeps): BusRoute[] {
  const client = deps.oona;
  if (!client) return [];
  const { streams } = client.settings;
  const at = (kind: string): ActorRef<BusMessage> | null => {
    const path = pathOfKind(deps.config.weatherlight.tree, kind);
    return path ? { path, system: deps.system.name } : null;
  };
  const routes: BusRoute[] = [];
  const log = at('telemetry-log');
  if (log) {
    // Weatherlight reads the emergency stream as well as the telemetry one (the prototype read neither).
    for (const stream of [streams.telemetry, streams.emergency]) {
      routes.push({ stream, group: 'weatherlight', to: log, types: [BusMessageType.BUS_MESSAGE_TYPE_TELEMETRY] });
    }
  }
  const tamiyo = at('tamiyo-controller');
  if (tamiyo)
    routes.push({
      stream: streams.policy,
      group: 'tamiyo',
      to: tamiyo,
      types: [BusMessageType.BUS_MESSAGE_TYPE_POLICY_UPDATE],
      deadlineMs: 120_000,
    });
  const simic = at('simic-trainer');
  if (simic)
    routes.push({
      stream: streams.normal,
      group: 'simic',
      to: simic,
      types: [BusMessageType.BUS_MESSAGE_TYPE_FIELD_REPORT],
      deadlineMs: 600_000,
    });
  const nissa = at('nissa-ingest');
  if (nissa) {
    // Nissa reads the emergency stream too (the prototype's never did), and state and field reports from normal.
    for (const stream of [streams.emergency, streams.telemetry]) {
      routes.push({ stream, group: 'nissa', to: nissa, types: [BusMessageType.BUS_MESSAGE_TYPE_TELEMETRY] });
    }
    routes.push({
      stream: streams.normal,
      group: 'nissa',
      to: nissa,
      types: [BusMessageType.BUS_MESSAGE_TYPE_SYSTEM_STATE, BusMessageType.BUS_MESSAGE_TYPE_FIELD_REPORT],
    });
  }
  const urza = at('urza');
  if (urza) {
    // Each library stores every kernel compiled elsewhere: one group per library (its folder on this host).
    const root = resolve(deps.config.urza?.root ?? defaultUrzaRoot(deps.config.run.varDir));
    routes.push({
      stream: streams.kernelArtifacts,
      group: `urza@${hostname()}:${root}`,
      to: urza,
      types: [BusMessageType.BUS_MESSAGE_TYPE_KERNEL_ARTIFACT],
    });
  }
  const forge = at('tezzeret-forge');
  if (forge && deps.config.run.serving === 'tezzeret') {
    // Workers take compile jobs one at a time and finish each before the next, so the processes share the queue;
    // a failed job is announced on oona.kernels.errors (the artifact of a good one goes out from the store).
    const worstCase = deps.tezzeret.settings.timeoutMs * (1 + deps.tezzeret.settings.maxRetries) + 60_000;
    routes.push({
      stream: streams.kernelCompile,
      group: 'tezzeret',
      to: forge,
      types: [BusMessageType.BUS_MESSAGE_TYPE_COMPILE_REQUEST],
      count: 1,
      deadlineMs: Math.min(deps.config.runtime.maxAskDeadlineMs, worstCase),
      ask: {
        reply: leyline.CompileResult,
        answerToMessage: (answer) => {
          const result = answer as v1.CompileResult;
          return result.ok
            ? null
            : leyline.KernelArtifactError.create({
                requestId: result.jobId,
                blueprintId: result.blueprintId,
                reason: result.error,
              });
        },
      },
    });
  }
  return routes;
}
