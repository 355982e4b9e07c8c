// What a control boundary's decision says on the progress line (describeDecision): every kind of command the policy
// can send reads as what it does.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { describeDecision, type HookResult } from '../actors/tolaria/trainer/control-hook.ts';

const { CommandType, SeedOperation } = leyline;
const hook = (command: v1.AdaptationCommand, receipt: v1.AdaptationReceipt | null = null): HookResult => ({
  command,
  outcome: 'applied',
  receipt,
  tamiyoMs: 1,
  kasminaMs: 1,
});

test('germinate, cull, learning rate, hold and pause each read as what they do', (t) => {
  t.is(
    describeDecision(
      hook(
        leyline.AdaptationCommand.create({
          commandType: CommandType.COMMAND_SEED,
          targetSeedId: 's1',
          seedOperation: leyline.CommandSeedOperation.create({
            operation: SeedOperation.SEED_OP_GERMINATE,
            blueprintId: 'BP014',
          }),
          annotations: { slot_id: 'mlp.0' },
        }),
      ),
    ),
    'germinate BP014 at mlp.0 as s1',
  );
  t.is(
    describeDecision(
      hook(
        leyline.AdaptationCommand.create({
          commandType: CommandType.COMMAND_SEED,
          targetSeedId: 's1',
          seedOperation: leyline.CommandSeedOperation.create({ operation: SeedOperation.SEED_OP_CULL }),
        }),
      ),
    ),
    'cull s1',
  );
  t.is(
    describeDecision(
      hook(
        leyline.AdaptationCommand.create({
          commandType: CommandType.COMMAND_OPTIMIZER,
          optimizerAdjustment: leyline.CommandOptimizerAdjustment.create({ hyperparameters: { learning_rate: 0.005 } }),
        }),
      ),
    ),
    'learning rate 5.00e-3',
  );
  t.is(
    describeDecision(
      hook(
        leyline.AdaptationCommand.create({
          commandType: CommandType.COMMAND_PAUSE,
          annotations: { hold_reason: 'wait' },
        }),
      ),
    ),
    'hold (wait)',
  );
  t.is(
    describeDecision(
      hook(leyline.AdaptationCommand.create({ commandType: CommandType.COMMAND_PAUSE, targetSeedId: 's2' })),
    ),
    'pause s2',
  );
  const refused = leyline.AdaptationReceipt.create({ applied: false, reason: 'slot mlp.0 is under embargo' });
  t.is(
    describeDecision(
      hook(
        leyline.AdaptationCommand.create({
          commandType: CommandType.COMMAND_SEED,
          targetSeedId: 's3',
          seedOperation: leyline.CommandSeedOperation.create({
            operation: SeedOperation.SEED_OP_GERMINATE,
            blueprintId: 'BP009',
          }),
          annotations: { slot_id: 'mlp.0' },
        }),
        refused,
      ),
    ),
    'germinate BP009 at mlp.0 as s3 — refused: slot mlp.0 is under embargo',
  );
});
