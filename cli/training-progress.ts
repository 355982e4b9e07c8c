// What `esper run` prints about training: one line per epoch (with an ETA), the outcome, and the run's summary.
import { performance } from 'node:perf_hooks';
import type { EpochSummary, RunResult } from '../actors/tolaria/index.ts';
import type { RunSummary } from './run-record/index.ts';

export const pct = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);

/** `<1s`, `12s`, `3m05s`, `2h07m`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 1) return '<1s';
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Estimates the time a run has left: the epochs left × the mean wall time of the epochs reported so far. */
export class EpochClock {
  #last: number | null = null;
  #seconds = 0;
  #epochs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Seconds left after this epoch; null when it was the last. */
  lap(summary: EpochSummary): number | null {
    const now = this.now();
    // The first epoch's wall time is not seen here (boot or a resume came before it): its training time stands in.
    this.#seconds += this.#last === null ? summary.trainSeconds : (now - this.#last) / 1000;
    this.#last = now;
    this.#epochs += 1;
    const left = summary.epochs - summary.epoch - 1;
    return left > 0 ? (left * this.#seconds) / this.#epochs : null;
  }
}

export function formatEpoch(summary: EpochSummary, etaSeconds: number | null = null): string {
  const seeds = Object.entries(summary.seedsByStage);
  const parts = [
    `epoch ${summary.epoch + 1}/${summary.epochs}`,
    `loss ${summary.trainLoss.toFixed(4)}`,
    `acc ${pct(summary.trainAccuracy)}`,
    `val_loss ${summary.validationLoss === null ? '—' : summary.validationLoss.toFixed(4)}`,
    `val_acc ${pct(summary.validationAccuracy)}`,
    `seeds ${seeds.length === 0 ? 'none' : seeds.map(([stage, n]) => `${stage}:${n}`).join(',')}`,
    `${Math.round(summary.samplesPerSecond).toLocaleString('en-US')} samples/s`,
    `${summary.trainSeconds.toFixed(1)} s`,
    `hook ${summary.hookMs.toFixed(1)} ms`,
  ];
  if (etaSeconds !== null) parts.push(`ETA ${formatDuration(etaSeconds)}`);
  if (summary.decision) parts.push(`tamiyo: ${summary.decision}`);
  if (summary.conservative) parts.push('conservative');
  if (summary.emergencyLevel !== 'EMERGENCY_LEVEL_NOTICE')
    parts.push(summary.emergencyLevel.replace('EMERGENCY_LEVEL_', 'emergency '));
  if (summary.failedReason) parts.push(`FAILED: ${summary.failedReason}`);
  return parts.join('  ');
}

export function formatResult(result: RunResult): string {
  const resumed = result.resumedFrom === null ? '' : ` (resumed after epoch ${result.resumedFrom + 1})`;
  const head =
    result.status === 'completed'
      ? `training complete: test accuracy ${pct(result.testAccuracy)} (loss ${result.testLoss.toFixed(4)}) after ${result.epochs} epochs in ${result.seconds.toFixed(1)} s${resumed}`
      : `training HALTED (${result.reason}) after ${result.epochs} epochs; test accuracy ${pct(result.testAccuracy)}${resumed}`;
  return `${head}; run ${result.runId}`;
}

/** `1,732 → 1,852 (+120, +6.9%)`: the host's own parameters, then with what its seeds add. */
export function formatGrowth(summary: RunSummary): string {
  const { hostParameters: host, parametersAdded: added } = summary;
  const share = host > 0 ? ` (+${added.toLocaleString('en-US')}, +${((added / host) * 100).toFixed(1)}%)` : '';
  return `${host.toLocaleString('en-US')} → ${(host + added).toLocaleString('en-US')}${share}`;
}

export const formatSeedFates = (summary: RunSummary): string =>
  `${summary.germinated} germinated, ${summary.fossilized} fossilized, ${summary.culled} culled`;

/** `heuristic, then simic-…`: the policies that decided, and whether Simic learned during the run. */
export function formatPolicies(summary: RunSummary): string {
  const decided = summary.policies.length > 0 ? summary.policies.join(', then ') : 'no decisions';
  return summary.policyLearning ? `${decided} (Simic learning during the run)` : decided;
}

/** The block after the outcome line: accuracy, what the seeds added to the host, the seeds' fates, time, who decided. */
export function formatSummary(summary: RunSummary): string {
  return [
    'esper: summary',
    `  test accuracy  ${pct(summary.testAccuracy)}`,
    `  parameters     ${formatGrowth(summary)}`,
    `  seeds          ${formatSeedFates(summary)}`,
    `  time           ${summary.seconds.toFixed(1)} s, ${summary.epochs} epoch${summary.epochs === 1 ? '' : 's'}`,
    ...(summary.policies.length > 0 || summary.policyLearning ? [`  decided by     ${formatPolicies(summary)}`] : []),
  ].join('\n');
}
