// Restart intensity, as in Erlang/OTP: at most `intensity` restarts within `periodMs`; one more and the
// supervisor gives up and escalates to its own supervisor.

export interface IntensityLimit {
  intensity: number;
  periodMs: number;
}

/** Restart instants still inside the window after recording one at `now`, and whether the limit is exceeded. */
export function recordRestart(
  history: readonly number[],
  now: number,
  limit: IntensityLimit,
): { history: number[]; exceeded: boolean } {
  const recent = history.filter((at) => now - at < limit.periodMs);
  recent.push(now);
  return { history: recent, exceeded: recent.length > limit.intensity };
}
