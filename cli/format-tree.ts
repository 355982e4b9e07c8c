// The supervision tree as indented lines, for `esper run` and `esper serve`.
import { leyline, type v1 } from '../contracts/index.ts';

/** The tree as indented lines: name, status, restarts, mailbox depth. */
export function formatTree(actors: readonly v1.WorkerState[]): string {
  return actors
    .map((actor) => {
      const depth = actor.path.split('/').length - 2;
      const status = (leyline.ActorStatus[actor.status] ?? '?').replace('ACTOR_STATUS_', '').toLowerCase();
      const kind = actor.strategy ? ` [${(leyline.SupervisionStrategy[actor.strategy] ?? '').replace('SUPERVISION_STRATEGY_', '').toLowerCase()}]` : '';
      return `${'  '.repeat(depth)}${actor.name}${kind}  ${status}  restarts=${actor.restartCount}  mailbox=${actor.mailboxDepth}`;
    })
    .join('\n');
}
