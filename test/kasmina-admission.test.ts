// Kasmina's admission rules as plain logic (admission.ts): which commands are admitted, refused or passed on, in
// which order the rules are checked, which facts each needs, and the receipt each gets.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import type { CommandVerification } from '../contracts/command-signing.ts';
import { admit, isBoundaryNoOp, receiptFor, type AdmissionFacts } from '../actors/kasmina/admission.ts';

const { CommandType, SeedLifecycleStage: Stage, SeedOperation } = leyline;

/** Facts from `seeds` (id → [slot, stage], in spawn order); counts how often the verifier and the breaker are asked. */
function facts(
  seeds: Record<string, [string, number]>,
  options: { verdict?: CommandVerification; breakerOpen?: boolean } = {},
) {
  const asked = { verify: 0, breaker: 0 };
  const board = new Map(
    Object.entries(seeds).map(([seedId, [, stage]]) => [seedId, leyline.SeedState.create({ seedId, stage })]),
  );
  const known: AdmissionFacts = {
    seeds: Object.keys(seeds),
    slots: new Map(Object.entries(seeds).map(([seedId, [slot]]) => [seedId, slot])),
    board,
    verify: () => {
      asked.verify += 1;
      return options.verdict ?? { accepted: true, reason: 'ok' };
    },
    isolationAllows: () => {
      asked.breaker += 1;
      return !options.breakerOpen;
    },
  };
  return { known, asked, board };
}

const seedCommand = (operation: v1.SeedOperation, targetSeedId: string, annotations: Record<string, string> = {}) =>
  leyline.AdaptationCommand.create({
    version: 1,
    commandId: 'c1',
    commandType: CommandType.COMMAND_SEED,
    targetSeedId,
    seedOperation: leyline.CommandSeedOperation.create({ operation, blueprintId: 'BP009' }),
    annotations,
  });
const germinate = (seedId: string, slotId: string) =>
  seedCommand(SeedOperation.SEED_OP_GERMINATE, seedId, { slot_id: slotId });

test("Tolaria's boundary no-op needs no signature: nothing is verified, nothing to do", (t) => {
  const { known, asked } = facts({});
  for (const mode of ['conservative', 'no_decision']) {
    const noOp = leyline.AdaptationCommand.create({
      version: 1,
      commandId: 'n',
      commandType: CommandType.COMMAND_UNKNOWN,
      annotations: { mode },
    });
    t.true(isBoundaryNoOp(noOp));
    t.deepEqual(admit(noOp, known), { kind: 'boundary', reason: `${mode}: nothing to do` });
  }
  t.is(asked.verify, 0);
  // The same shape carrying a seed operation, or another mode, is an ordinary command.
  t.false(
    isBoundaryNoOp(
      leyline.AdaptationCommand.create({ commandType: CommandType.COMMAND_UNKNOWN, annotations: { mode: 'other' } }),
    ),
  );
  t.false(
    isBoundaryNoOp(
      leyline.AdaptationCommand.create({
        commandType: CommandType.COMMAND_UNKNOWN,
        annotations: { mode: 'conservative' },
        seedOperation: leyline.CommandSeedOperation.create({}),
      }),
    ),
  );
});

test('a command the verifier refuses is refused with its verdict before any other rule (no boundary reported)', (t) => {
  const { known, asked } = facts(
    { s1: ['mlp.0', Stage.SEED_STAGE_TRAINING] },
    { verdict: { accepted: false, reason: 'nonce_replayed' } },
  );
  t.deepEqual(admit(germinate('s2', 'mlp.1'), known), { kind: 'refused', reason: 'nonce_replayed', verified: false });
  t.deepEqual(asked, { verify: 1, breaker: 0 }, 'the isolation breaker is not asked');
});

test('COMMAND_EMERGENCY culls every seed on trial, in spawn order; fossilized, embargoed and dormant seeds stay', (t) => {
  const { known } = facts({
    a: ['mlp.0', Stage.SEED_STAGE_FOSSILIZED],
    b: ['mlp.1', Stage.SEED_STAGE_BLENDING],
    c: ['mlp.2', Stage.SEED_STAGE_EMBARGOED],
    d: ['mlp.3', Stage.SEED_STAGE_GERMINATED],
    e: ['mlp.4', Stage.SEED_STAGE_DORMANT],
  });
  t.deepEqual(admit(leyline.AdaptationCommand.create({ commandType: CommandType.COMMAND_EMERGENCY }), known), {
    kind: 'emergency',
    cull: ['b', 'd'],
  });
});

test("PAUSE naming no seed is Tamiyo's hold; naming one it must be known; other commands are Tolaria's", (t) => {
  const { known } = facts({ s1: ['mlp.0', Stage.SEED_STAGE_TRAINING] });
  const pause = (targetSeedId: string) =>
    leyline.AdaptationCommand.create({ commandType: CommandType.COMMAND_PAUSE, targetSeedId });
  t.deepEqual(admit(pause(''), known), { kind: 'hold' });
  t.deepEqual(admit(pause('s1'), known), { kind: 'hand_over', seedId: 's1', germinate: null });
  t.deepEqual(admit(pause('ghost'), known), { kind: 'refused', reason: 'unknown seed ghost', verified: true });
  t.deepEqual(admit(leyline.AdaptationCommand.create({ commandType: CommandType.COMMAND_OPTIMIZER }), known), {
    kind: 'not_seed_command',
    reason: 'not a seed command (COMMAND_OPTIMIZER)',
  });
  t.deepEqual(
    admit(leyline.AdaptationCommand.create({ commandType: CommandType.COMMAND_SEED }), known),
    { kind: 'not_seed_command', reason: 'not a seed command (COMMAND_SEED)' },
    'no seed operation',
  );
});

test('a seed operation names its seed; CULL, CANCEL and FOSSILIZE need a seed Kasmina knows', (t) => {
  const { known } = facts({ s1: ['mlp.0', Stage.SEED_STAGE_PROBATIONARY] });
  t.deepEqual(admit(seedCommand(SeedOperation.SEED_OP_CULL, ''), known), {
    kind: 'refused',
    reason: 'target_seed_id is empty',
    verified: true,
  });
  for (const op of [SeedOperation.SEED_OP_CULL, SeedOperation.SEED_OP_CANCEL, SeedOperation.SEED_OP_FOSSILIZE]) {
    t.deepEqual(admit(seedCommand(op, 's1'), known), { kind: 'hand_over', seedId: 's1', germinate: null });
    t.deepEqual(admit(seedCommand(op, 's9'), known), { kind: 'refused', reason: 'unknown seed s9', verified: true });
  }
});

test('GERMINATE needs a slot, then the isolation breaker closed (asked only then), then the slot free of embargo and holder', (t) => {
  const open = facts({}, { breakerOpen: true });
  t.deepEqual(admit(germinate('s1', ''), open.known), {
    kind: 'refused',
    reason: 'annotation slot_id is empty',
    verified: true,
  });
  t.is(open.asked.breaker, 0, 'no slot: the breaker is not asked (asking uses up a half-open trial)');
  t.deepEqual(admit(germinate('s1', 'mlp.0'), open.known), {
    kind: 'refused',
    reason: 'isolation breaker open: no new grafts until it closes',
    verified: true,
  });
  t.is(open.asked.breaker, 1);

  const { known } = facts({
    culled: ['mlp.0', Stage.SEED_STAGE_EMBARGOED],
    resetting: ['mlp.1', Stage.SEED_STAGE_RESETTING],
    fossil: ['mlp.2', Stage.SEED_STAGE_FOSSILIZED],
    trial: ['mlp.3', Stage.SEED_STAGE_GERMINATED],
    rested: ['mlp.4', Stage.SEED_STAGE_DORMANT],
  });
  t.deepEqual(admit(germinate('new', 'mlp.0'), known), {
    kind: 'refused',
    reason: 'slot mlp.0 is under embargo (seed culled was culled there)',
    verified: true,
  });
  t.deepEqual(admit(germinate('new', 'mlp.1'), known), {
    kind: 'refused',
    reason: 'slot mlp.1 is under embargo (seed resetting was culled there)',
    verified: true,
  });
  t.deepEqual(admit(germinate('new', 'mlp.2'), known), {
    kind: 'refused',
    reason: 'slot mlp.2 holds seed fossil',
    verified: true,
  });
  t.deepEqual(admit(germinate('new', 'mlp.3'), known), {
    kind: 'refused',
    reason: 'slot mlp.3 holds seed trial',
    verified: true,
  });
  t.deepEqual(
    admit(germinate('new', 'mlp.4'), known),
    { kind: 'hand_over', seedId: 'new', germinate: { slotId: 'mlp.4', spawn: true } },
    'a DORMANT seed leaves its slot open',
  );
  // A seed is never in its own way: the one culled at mlp.0 may germinate there again (its own lifecycle decides).
  t.deepEqual(admit(germinate('culled', 'mlp.0'), known), {
    kind: 'hand_over',
    seedId: 'culled',
    germinate: { slotId: 'mlp.0', spawn: false },
  });
});

test('an embargo is named before a holder: the first seed found at the slot in slot order', (t) => {
  const { known } = facts({ holder: ['mlp.0', Stage.SEED_STAGE_TRAINING], culled: ['mlp.0', Stage.SEED_STAGE_CULLED] });
  t.deepEqual(admit(germinate('new', 'mlp.0'), known), {
    kind: 'refused',
    reason: 'slot mlp.0 is under embargo (seed culled was culled there)',
    verified: true,
  });
});

test('the receipt: applied or not, why, and every seed state as it is when the receipt is sent', (t) => {
  const { known, board } = facts({
    s1: ['mlp.0', Stage.SEED_STAGE_TRAINING],
    s2: ['mlp.1', Stage.SEED_STAGE_GERMINATED],
  });
  const command = germinate('s3', 'mlp.2');
  const cases = [
    [{ kind: 'boundary', reason: 'no_decision: nothing to do' }, true, 'no_decision: nothing to do'],
    [{ kind: 'refused', reason: 'stale_command', verified: false }, false, 'stale_command'],
    [{ kind: 'hold' }, true, 'hold'],
    [
      { kind: 'not_seed_command', reason: 'not a seed command (COMMAND_OPTIMIZER)' },
      false,
      'not a seed command (COMMAND_OPTIMIZER)',
    ],
    [{ kind: 'emergency', cull: ['s1', 's2'] }, true, 'culled 2'],
    [admit(command, known), true, ''],
  ] as const;
  for (const [admission, applied, reason] of cases) {
    const receipt = receiptFor(command, admission, board.values());
    t.like(receipt, { commandId: 'c1', applied, reason });
    t.deepEqual(
      receipt.seedStates.map((s) => [s.seedId, s.stage]),
      [
        ['s1', Stage.SEED_STAGE_TRAINING],
        ['s2', Stage.SEED_STAGE_GERMINATED],
      ],
    );
  }
});
