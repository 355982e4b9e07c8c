// Tamiyo's field-report log: durable appends (a report acknowledged survives kill -9, nothing is torn), completion
// with the observed outcome, retention in bounded batches (reports without a timestamp never expire), reload in
// order, and clear errors for bad input.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { leyline, type v1 } from '../contracts/index.ts';
import { toTimestamp } from '../contracts/time.ts';
import { FieldReportLog } from '../actors/tamiyo/field-report-log.ts';
import { runTsChild } from './helpers/child-process.ts';

const { FieldReportOutcome: Outcome } = leyline;
const HOUR = 3_600_000;
const dbPath = (): string => join(mkdtempSync(join(tmpdir(), 'esper-reports-')), 'tamiyo', 'field_reports.db');
const report = (
  id: string,
  issuedAt: number | null,
  outcome: v1.FieldReportOutcome = Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED,
): v1.FieldReport =>
  leyline.FieldReport.create({
    version: 1,
    reportId: id,
    seedId: 's',
    outcome,
    ...(issuedAt === null ? {} : { issuedAt: toTimestamp(issuedAt) }),
  });

test('appends reload in order after a reopen; completing a report records its outcome; pending lists the rest', (t) => {
  const path = dbPath();
  const now = 10 * HOUR;
  const log = new FieldReportLog(path, { clock: () => now });
  for (const id of ['a', 'b', 'c']) log.append(report(id, now - 1_000));
  log.complete(
    leyline.FieldReport.create({
      ...report('b', now - 1_000, Outcome.FIELD_REPORT_OUTCOME_SUCCESS),
      metrics: { val_loss_delta: -0.02 },
    }),
  );
  log.close();
  const reopened = new FieldReportLog(path, { clock: () => now });
  t.deepEqual(
    reopened.reports().map((r) => [r.reportId, r.outcome]),
    [
      ['a', Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED],
      ['b', Outcome.FIELD_REPORT_OUTCOME_SUCCESS],
      ['c', Outcome.FIELD_REPORT_OUTCOME_UNSPECIFIED],
    ],
  );
  t.true(Math.abs((reopened.reports()[1]!.metrics.val_loss_delta ?? 0) + 0.02) < 1e-6);
  t.deepEqual(
    reopened.pending().map((r) => r.reportId),
    ['a', 'c'],
  );
  t.throws(() => reopened.append(report('a', now)), { message: 'field report a: already stored' });
  t.throws(() => reopened.append(report('', now)), { message: 'field report: report_id is empty' });
  t.throws(() => reopened.complete(report('zzz', now)), { message: /zzz: not stored/ });
  reopened.close();
});

test('retention drops reports older than the window in bounded batches; a report without a timestamp never expires', (t) => {
  let now = 100 * HOUR;
  const log = new FieldReportLog(dbPath(), { retentionMs: HOUR, pruneBatch: 7, clock: () => now });
  for (let i = 0; i < 30; i++) log.append(report(`old-${i}`, now - 30 * 60_000));
  log.append(report('timeless', null));
  log.append(report('fresh', now));
  t.is(log.size, 32);
  now += 45 * 60_000; // the old ones are now 75 min old, past the 60 min window
  t.is(log.enforceRetention(), 30, 'all thirty, seven at a time');
  t.deepEqual(
    log.reports().map((r) => r.reportId),
    ['timeless', 'fresh'],
  );
  t.is(log.counters.pruned, 30);
  now += 10 * HOUR;
  log.append(report('later', now));
  t.deepEqual(
    log.reports().map((r) => r.reportId),
    ['timeless', 'later'],
    'retention also runs after each append',
  );
  log.close();
});

test.serial('kill -9 during appends: every acknowledged report is there and decodes; nothing torn', async (t) => {
  const path = dbPath();
  const script = fileURLToPath(new URL('./fixtures/field-report-append-loop.ts', import.meta.url));
  for (let run = 0; run < 3; run++) {
    const child = runTsChild(script, [path]);
    await child.waitFor((line) => line.startsWith('acked '), 40 + run * 25);
    child.kill();
    const { signal } = await child.exit;
    t.is(signal, 'SIGKILL');
    const acked = child.lines.filter((line) => line.startsWith('acked ')).map((line) => line.slice('acked '.length));
    const log = new FieldReportLog(path);
    const stored = new Set(log.reports().map((r) => r.reportId));
    t.is(log.counters.undecodable, 0, 'no torn report');
    t.true(
      acked.every((id) => stored.has(id)),
      `run ${run}: ${acked.filter((id) => !stored.has(id)).length} acknowledged reports lost`,
    );
    t.true(stored.size >= acked.length);
    log.close();
  }
});
