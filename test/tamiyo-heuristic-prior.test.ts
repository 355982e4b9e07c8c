// The heuristic policy: germinate only on a validation-loss plateau with no seed on trial, at the narrowest
// free slot, with the best-scoring blueprint fit for grafting.
import test from 'ava';
import { leyline } from '../contracts/index.ts';
import { defaultBlueprints } from '../actors/karn/index.ts';
import { candidateScore, heuristicPrior, plateaued } from '../policy/index.ts';

const { SeedLifecycleStage: Stage } = leyline;
/** The heuristic's input (the type is not part of policy/index.ts's surface). */
type PriorInput = Parameters<typeof heuristicPrior>[0];
const slots = [
  { id: 'mlp.0', dims: [256] },
  { id: 'mlp.1', dims: [64] },
  { id: 'mlp.2', dims: [128] },
];
const base = (over: Partial<PriorInput> = {}): PriorInput => ({
  validationLosses: [0.5, 0.3, 0.2, 0.199, 0.1985],
  seeds: [],
  seedSlots: new Map(),
  slots,
  candidates: defaultBlueprints(),
  ...over,
});

test('plateau: less than 1 % better over the last two epochs', (t) => {
  t.true(plateaued([0.2, 0.199, 0.1985], 2, 0.01));
  t.false(plateaued([0.3, 0.2, 0.19], 2, 0.01));
  t.false(plateaued([0.2, 0.2], 2, 0.01), 'not enough epochs yet');
  t.false(plateaued([0.2, Number.NaN, Number.NaN], 2, 0.01));
});

test('on a plateau it germinates at the narrowest free slot with the best fit blueprint', (t) => {
  const decision = heuristicPrior(base());
  t.is(decision.action, 'germinate');
  if (decision.action !== 'germinate') return;
  t.is(decision.slotId, 'mlp.1');
  const fit = defaultBlueprints().filter((d) => !d.quarantineOnly && !d.approvalRequired && d.risk < 0.5);
  const best = Math.max(...fit.map(candidateScore));
  const chosen = defaultBlueprints().find((d) => d.blueprintId === decision.blueprintId)!;
  t.is(candidateScore(chosen), best);
  t.false(chosen.quarantineOnly || chosen.approvalRequired);
});

test('no germination while improving, with a seed on trial, or with every slot taken', (t) => {
  t.is(heuristicPrior(base({ validationLosses: [0.5, 0.3, 0.2] })).action, 'none');
  const onTrial = leyline.SeedState.create({ seedId: 'a', stage: Stage.SEED_STAGE_BLENDING });
  t.deepEqual(heuristicPrior(base({ seeds: [onTrial], seedSlots: new Map([['a', 'mlp.1']]) })), {
    action: 'none',
    why: 'a seed is on trial',
  });
  // A fossilized seed and an embargoed one take their slots: the next narrowest free one is chosen.
  const fossil = leyline.SeedState.create({ seedId: 'f', stage: Stage.SEED_STAGE_FOSSILIZED });
  const embargoed = leyline.SeedState.create({ seedId: 'e', stage: Stage.SEED_STAGE_EMBARGOED });
  const decision = heuristicPrior(
    base({
      seeds: [fossil, embargoed],
      seedSlots: new Map([
        ['f', 'mlp.1'],
        ['e', 'mlp.2'],
      ]),
    }),
  );
  t.is(decision.action === 'germinate' ? decision.slotId : '', 'mlp.0');
  const dormant = leyline.SeedState.create({ seedId: 'd', stage: Stage.SEED_STAGE_DORMANT });
  const all = heuristicPrior(
    base({
      seeds: [
        fossil,
        embargoed,
        dormant,
        leyline.SeedState.create({ seedId: 'g', stage: Stage.SEED_STAGE_FOSSILIZED }),
      ],
      seedSlots: new Map([
        ['f', 'mlp.1'],
        ['e', 'mlp.2'],
        ['d', 'mlp.0'],
        ['g', 'mlp.0'],
      ]),
    }),
  );
  t.deepEqual(all, { action: 'none', why: 'no free slot' });
  t.deepEqual(heuristicPrior(base({ candidates: defaultBlueprints().filter((d) => d.risk >= 0.5) })), {
    action: 'none',
    why: 'no blueprint fit for grafting',
  });
});
