// Choosing on the network's outputs: the action first, then the heads that action needs (actions.ts), each over its
// allowed choices only. How a head's choice is made is the strategy:
//
//   greedy   the highest-scoring allowed choice (ordinary runs)
//   sample   a draw from softmax(logits / temperature) over the allowed choices (learning)
//   uniform  a draw uniform over the allowed choices (the `random` baseline policy)
//   given    choices made elsewhere (the heuristic policy); heads it leaves open are chosen greedily
//
// Each chosen head's log-probability is recorded. In sample mode it is the behaviour policy's own (tempered)
// log-probability, which PPO's importance ratio needs; in the other modes it is the network's at temperature 1
// (what the network thought of the choice, for reports and learning from ordinary runs).
import { HEAD_OUTPUT, maskOf, SUB_HEADS, type Choices, type Head, type Masks } from './actions.ts';
import type { GnnReadout } from './gnn.ts';

export type Strategy =
  | { kind: 'greedy' }
  | { kind: 'sample'; temperature: number; random: () => number }
  | { kind: 'uniform'; random: () => number }
  | { kind: 'given'; choices: Choices };

export interface Chosen {
  choices: Choices;
  logProbs: Partial<Record<Head, number>>;
}

/** log-softmax of `logits / temperature` restricted to `allowed` indices (others get −∞). */
export function logSoftmax(
  logits: readonly number[],
  allowed: readonly boolean[] | null = null,
  temperature = 1,
): number[] {
  const ok = (i: number): boolean => allowed === null || allowed[i] === true;
  const scaled = logits.map((x) => x / temperature);
  const max = Math.max(...scaled.filter((_, i) => ok(i)));
  const sum = scaled.reduce((acc, x, i) => acc + (ok(i) ? Math.exp(x - max) : 0), 0);
  return scaled.map((x, i) => (ok(i) ? x - max - Math.log(sum) : -Infinity));
}

/** The allowed index with the highest score (the first on ties), or −1. */
export function argmax(scores: readonly number[], allowed: readonly boolean[] | null = null): number {
  let best = -1;
  for (let i = 0; i < scores.length; i++)
    if ((allowed === null || allowed[i]) && (best < 0 || scores[i]! > scores[best]!)) best = i;
  return best;
}

/** The network's scores for a head. */
export const headLogits = (readout: GnnReadout, head: Head): number[] => readout[HEAD_OUTPUT[head]];

/** An index drawn from the probabilities exp(logProbs) (one uniform draw; the last allowed index on rounding). */
function draw(logProbs: readonly number[], random: () => number): number {
  let u = random();
  let last = -1;
  for (let i = 0; i < logProbs.length; i++) {
    if (logProbs[i] === -Infinity) continue;
    last = i;
    u -= Math.exp(logProbs[i]!);
    if (u < 0) return i;
  }
  return last;
}

export function choose(readout: GnnReadout, masks: Masks, strategy: Strategy): Chosen {
  const choices = { action: -1 } as Choices;
  const logProbs: Chosen['logProbs'] = {};
  const pick = (head: Head): number => {
    const logits = headLogits(readout, head);
    const allowed = maskOf(masks, head).slice(0, logits.length);
    const temperature = strategy.kind === 'sample' ? strategy.temperature : 1;
    const log = logSoftmax(logits, allowed, temperature);
    let index: number;
    if (strategy.kind === 'sample') index = draw(log, strategy.random);
    else if (strategy.kind === 'uniform') {
      const open = allowed.flatMap((ok, i) => (ok ? [i] : []));
      index = open[Math.min(open.length - 1, Math.floor(strategy.random() * open.length))] ?? -1;
    } else if (strategy.kind === 'given' && strategy.choices[head] !== undefined) index = strategy.choices[head]!;
    else index = argmax(logits, allowed);
    if (index < 0 || !allowed[index]) throw new RangeError(`policy: no allowed choice for the ${head} head`);
    logProbs[head] = log[index]!;
    return index;
  };
  choices.action = pick('action');
  for (const head of SUB_HEADS[choices.action] ?? []) choices[head] = pick(head);
  return { choices, logProbs };
}
