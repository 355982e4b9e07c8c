// A pending field report's completion, as plain logic: it waits for its observation window in its own run, then takes
// its outcome and the observed figures from the state then.
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { DEFAULT_OUTCOME_TOLERANCES, reportCompletion } from '../actors/tamiyo/outcome.ts';

const { FieldReportOutcome: Outcome, PolicyAction, SeedLifecycleStage: Stage } = leyline;

const germination = (): v1.FieldReport =>
  leyline.FieldReport.create({
    reportId: 'run-1@200',
    trainingRunId: 'run-1',
    seedId: 'seed-1',
    observationWindowEpochs: 2,
    metrics: {
      'decision.epoch': 1,
      'decision.kind': PolicyAction.POLICY_ACTION_GERMINATE,
      'decision.validation_loss': 0.5,
    },
  });
const state = (
  epoch: number,
  loss: number,
  over: Partial<v1.SystemStatePacket.$Properties> = {},
): v1.SystemStatePacket =>
  leyline.SystemStatePacket.create({
    trainingRunId: 'run-1',
    currentEpoch: epoch,
    validationLoss: loss,
    validationAccuracy: 0.9,
    ...over,
  });
const seed = (stage: v1.SeedLifecycleStage) =>
  leyline.SeedState.create({ seedId: 'seed-1', stage, metrics: { parameters: 640 } });

test('a report waits for its window, in its own run, with a validation loss to judge by', (t) => {
  t.is(
    reportCompletion(
      germination(),
      state(2, 0.4, { seedStates: [seed(Stage.SEED_STAGE_TRAINING)] }),
      DEFAULT_OUTCOME_TOLERANCES,
    ),
    null,
    'one epoch of two',
  );
  t.is(
    reportCompletion(germination(), state(9, 0.4, { trainingRunId: 'run-2' }), DEFAULT_OUTCOME_TOLERANCES),
    null,
    "another run's figures say nothing of this one",
  );
  t.is(reportCompletion(germination(), state(3, 0), DEFAULT_OUTCOME_TOLERANCES), null, 'no validation loss');
});

test('once its window has passed: the outcome from what happened, the observed figures and the loss delta over the window', (t) => {
  const completion = reportCompletion(
    germination(),
    state(3, 0.4, { seedStates: [seed(Stage.SEED_STAGE_TRAINING)] }),
    DEFAULT_OUTCOME_TOLERANCES,
  );
  t.is(completion?.outcome, Outcome.FIELD_REPORT_OUTCOME_SUCCESS);
  t.like(completion?.metrics, {
    'decision.epoch': 1,
    'observed.epoch': 3,
    'observed.validation_loss': 0.4,
    'observed.validation_accuracy': 0.9,
    'observed.seed_stage': Stage.SEED_STAGE_TRAINING,
    'observed.seed_parameters': 640,
  });
  t.true(Math.abs((completion?.metrics?.loss_delta ?? 0) + 0.1) < 1e-9);
  t.is(
    reportCompletion(germination(), state(3, 0.4), DEFAULT_OUTCOME_TOLERANCES)?.outcome,
    Outcome.FIELD_REPORT_OUTCOME_ABORTED,
    'its seed never appeared',
  );
});
