// What `esper run` prints about training: one line per epoch, and a summary when the run ends.
import type { EpochSummary, RunResult } from '../actors/tolaria/index.ts';

const pct = (value: number | null): string => (value === null ? '—' : `${(value * 100).toFixed(2)}%`);

export function formatEpoch(summary: EpochSummary): string {
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
  if (summary.decision) parts.push(`tamiyo: ${summary.decision}`);
  if (summary.conservative) parts.push('conservative');
  if (summary.emergencyLevel !== 'EMERGENCY_LEVEL_NOTICE') parts.push(summary.emergencyLevel.replace('EMERGENCY_LEVEL_', 'emergency '));
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
