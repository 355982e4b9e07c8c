// Tamiyo deciding from real state on MNIST: an under-sized MLP host (784-64-10) trains on the WASM backend with
// Tamiyo's controller at every epoch boundary. With no policy given, it decides by the heuristic
// policy: it holds while the validation loss improves quickly, then germinates a real catalog blueprint at the
// host's slot; Kasmina verifies the signed command and grafts the seed. Every decision has a durable field report
// with the graph it read, and reports whose observation window has passed carry their observed outcome.
import test from 'ava';
import { join } from 'node:path';
import { leyline } from '../contracts/index.ts';
import { loadIdxDataset } from '../actors/tolaria/data/dataset.ts';
import { FieldReportLog } from '../actors/tamiyo/index.ts';
import { HEURISTIC_VERSION } from '../policy/index.ts';
import { selectTensorBackend } from '../tensor/index.ts';
import { catalog, mnistSeedSettings, startSeedRun } from './helpers/seed-run.ts';

const { FieldReportOutcome: Outcome } = leyline;

test('MNIST: Tamiyo holds while the loss falls fast, then germinates where the prior says, from real state', async (t) => {
  const backend = await selectTensorBackend('wasm');
  const h = startSeedRun({
    dataset: loadIdxDataset(),
    backend,
    ...mnistSeedSettings('mnist-tamiyo', 8),
    // A plateau here: the validation loss improved by less than 10 % over the last epoch. Deadlines and the hook
    // budget are loose: this test is about what Tamiyo decides; speed is the benchmarks' (test files share the cores).
    tamiyo: {
      prior: { plateauEpochs: 1, plateauTolerance: 0.1 },
      observationEpochs: 1,
      inferenceTimeoutMs: 2_000,
      policyAnswerMs: 5_000,
      risk: { hookBudgetMs: 10_000 },
    },
  });
  const result = await h.finished;
  t.is(result.status, 'completed');
  t.true(result.testAccuracy > 0.85, `test accuracy ${result.testAccuracy}`);
  await h.system.shutdown();

  const log = new FieldReportLog(join(h.tamiyoDir, 'field_reports.db'));
  const reports = log.reports();
  log.close();
  const epochs = h.epochs.seen;
  t.log(epochs.map((e) => `epoch ${e.epoch + 1}: val_loss ${e.validationLoss?.toFixed(4)} — ${e.decision}`).join('\n'));
  t.is(reports.length, epochs.length, 'one field report per decision');
  for (const report of reports) {
    t.is(report.tamiyoPolicyVersion, HEURISTIC_VERSION);
    t.is(report.decision?.mode, 'heuristic');
    const graph = report.decision?.graph;
    const layer = graph?.nodes?.find((n) => n.nodeType === 'layer');
    t.deepEqual(layer?.nodeIds, ['mlp.0'], 'the host slot is in the graph');
    const activation = graph?.nodes?.find((n) => n.nodeType === 'activation');
    t.true(
      (activation?.features ?? []).slice(1, 4).some((x) => x !== 0),
      'the slot activation statistics reach the graph',
    );
    t.true(Number.isFinite(report.decision?.logProbs?.action), 'the action log-probability is recorded');
  }

  const germinations = reports.filter((r) => r.blueprintId !== '');
  t.is(germinations.length, 1, 'one germination: afterwards the only slot is taken');
  const germination = germinations[0]!;
  t.truthy(catalog.get(germination.blueprintId), `${germination.blueprintId} is a real catalog blueprint`);
  t.is(germination.decision?.decidedBy, 'heuristic');
  const before = reports.slice(0, reports.indexOf(germination));
  t.true(before.length >= 1, 'Tamiyo held first');
  t.true(before.every((r) => r.decision?.proposal?.annotations?.prior_reason === 'validation loss still improving'));
  t.true(h.stagesOf(germination.seedId).includes('TRAINING'), 'Kasmina grafted the seed Tamiyo germinated');

  // Outcomes: every report but the last had its one-epoch window close before the run ended.
  const judged = reports.slice(0, -1);
  t.true(
    judged.every((r) => r.outcome !== Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED),
    'observed outcomes filled in',
  );
  t.not(germination.outcome, Outcome.FIELD_REPORT_OUTCOME_ABORTED, 'the germinated seed appeared');
  t.true(judged.every((r) => r.metrics?.['observed.validation_loss'] !== undefined));
});
