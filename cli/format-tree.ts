// The supervision tree as indented lines, for `esper run`, `esper serve` and `esper inspect`.
import { leyline, type v1 } from '../contracts/index.ts';

/** An actor status as a word: "running", "backing_off"… */
export function statusName(status: v1.ActorStatus): string {
  return (leyline.ActorStatus[status] ?? '?').replace('ACTOR_STATUS_', '').toLowerCase();
}

/** The tree as indented lines: name, status (and `paused`), restarts, mailbox depth. */
export function formatTree(actors: readonly v1.WorkerState[]): string {
  return actors
    .map((actor) => {
      const depth = actor.path.split('/').length - 2;
      const status = statusName(actor.status);
      const kind = actor.strategy
        ? ` [${(leyline.SupervisionStrategy[actor.strategy] ?? '').replace('SUPERVISION_STRATEGY_', '').toLowerCase()}]`
        : '';
      return `${'  '.repeat(depth)}${actor.name}${kind}  ${status}${actor.paused ? ' paused' : ''}  restarts=${actor.restartCount}  mailbox=${actor.mailboxDepth}`;
    })
    .join('\n');
}
