// The lines `esper learn` prints: one per round, and the held-out table at the end.
import type { RoundFigures } from '../../actors/simic/index.ts';
import type { LearnHeldOutRecord, LearnRoundRecord } from './record.ts';

const pct = (share: number): string => `${(100 * share).toFixed(0)}%`;

function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60
    ? `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
    : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `round 3/30  return 72.41 (heuristic 70.10, random 61.02)  val 78.3%  +weights 12.1%  actions wait 45% … ETA 6m10s` */
export function formatRound(
  line: LearnRoundRecord,
  rounds: number,
  baselines: Partial<Record<'heuristic' | 'random', RoundFigures>>,
  etaSeconds: number,
): string {
  const f = line.figures;
  const levels = (['heuristic', 'random'] as const).flatMap((name) =>
    baselines[name] ? [`${name} ${baselines[name].meanObjective.toFixed(2)}`] : [],
  );
  const actions = Object.entries(f.actions)
    .map(([name, share]) => `${name} ${pct(share)}`)
    .join(' ');
  return [
    `round ${line.round}/${rounds}`,
    `return ${f.meanObjective.toFixed(2)}${levels.length ? ` (${levels.join(', ')})` : ''}`,
    `val ${f.meanValidationAccuracy.toFixed(1)}%`,
    `+weights ${(100 * f.meanAddedShare).toFixed(1)}%`,
    `actions ${actions}`,
    `entropy ${line.update.entropy.toFixed(2)}`,
    ...(line.update.skippedMinibatches > 0
      ? [`${line.update.skippedMinibatches} minibatches not finite, skipped`]
      : []),
    `${line.episodesPerSecond.toFixed(2)} episodes/s`,
    ...(f.failed > 0 ? [`${f.failed} failed`] : []),
    ...(line.round < rounds ? [`ETA ${duration(etaSeconds)}`] : []),
  ].join('  ');
}

/** Mean test accuracy and added weights per policy over the held-out episodes, one line per policy. */
export function formatHeldOut(lines: readonly LearnHeldOutRecord[]): string {
  const policies = [...new Set(lines.map((l) => l.policy))];
  const rows = policies.map((policy) => {
    const own = lines.filter((l) => l.policy === policy && l.ok);
    const mean = (pick: (l: LearnHeldOutRecord) => number): number =>
      own.reduce((s, l) => s + pick(l), 0) / Math.max(1, own.length);
    return `  ${policy.padEnd(10)} test accuracy ${mean((l) => l.testAccuracy).toFixed(2)}%  +weights ${Math.round(mean((l) => l.addedParameters)).toLocaleString('en-US')} (${(100 * mean((l) => l.addedShare)).toFixed(1)}%)  return ${mean((l) => l.objective).toFixed(2)}  (${own.length} episodes)`;
  });
  return ['esper learn: held-out tasks', ...rows].join('\n');
}
