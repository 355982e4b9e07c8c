// Leyline codec: encoded size and encode+decode time of the shared fixtures, and sign+verify time of a command.
//
// Baselines:
// - sizes: the prototype's measured sizes (SystemStatePacket fixture 154 B, AdaptationCommand 84 B, FieldReport
//   134 B) and the design budget for a hot message (280 B);
// - time, SystemStatePacket: an anchor measured on this machine with the prototype's Python protobuf (C++
//   implementation): 7.1 µs for the fixture, 22 µs for the 10-seed packet;
// - time, AdaptationCommand / FieldReport: no anchor was measured, so the design budgets (80 µs / 120 µs, the
//   prototype's perf-test limits) are the baseline, as the metric names say;
// - sign+verify: measured in this run, two (canonical encode + HMAC-SHA256) over the same command, the floor any
//   signer plus verifier pays.
// Times are medians over many samples (each a batch of operations), after a warm-up.
import { createHmac } from 'node:crypto';
import { decodeLeyline, encodeLeyline } from '../contracts/codec.ts';
import { CommandVerifier, signCommand } from '../contracts/command-signing.ts';
import { leyline, type LeylineMessage, type LeylineType } from '../contracts/index.ts';
import { SignatureContext } from '../contracts/signing.ts';
import {
  adaptationCommandFixture,
  fieldReportFixture,
  systemStatePacketFixture,
  systemStatePacketTenSeedsFixture,
} from '../test/fixtures/leyline-fixtures.ts';
import { median, report } from './report.ts';

const BENCH = 'leyline';
const SAMPLES = 400;
const BATCH = 50;
const WARMUP = 20_000;

let sink = 0;

/** Median microseconds per call of `op`, over SAMPLES batches of BATCH calls, after WARMUP calls. */
function medianMicros(op: () => number): number {
  for (let i = 0; i < WARMUP; i++) sink += op();
  const perOp: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) sink += op();
    perOp.push(Number(process.hrtime.bigint() - start) / 1000 / BATCH);
  }
  return median(perOp);
}

function roundTrip<M extends LeylineMessage>(Type: LeylineType<M>, message: M): () => number {
  return () => {
    const bytes = encodeLeyline(message);
    const result = decodeLeyline(Type, bytes);
    if (!result.ok) throw result.error;
    return bytes.length;
  };
}

export async function run(): Promise<void> {
  const cases: Array<{
    name: string;
    Type: LeylineType;
    message: LeylineMessage;
    timeBaseline: number;
    timeMetric: string;
    sizeBaselines: Array<[string, number]>;
  }> = [
    {
      name: 'system_state_fixture',
      Type: leyline.SystemStatePacket,
      message: systemStatePacketFixture(),
      timeMetric: 'encode_decode_us_vs_python_anchor',
      timeBaseline: 7.1,
      sizeBaselines: [
        ['size_bytes_vs_prototype', 154],
        ['size_bytes_vs_budget', 280],
      ],
    },
    {
      name: 'system_state_10_seeds',
      Type: leyline.SystemStatePacket,
      message: systemStatePacketTenSeedsFixture(),
      timeMetric: 'encode_decode_us_vs_python_anchor',
      timeBaseline: 22,
      // The design's 280 B budget is for a typical packet; ten seeds cannot fit in it.
      sizeBaselines: [['size_bytes_vs_budget', 280]],
    },
    {
      name: 'adaptation_command',
      Type: leyline.AdaptationCommand,
      message: adaptationCommandFixture(),
      timeMetric: 'encode_decode_us_vs_design_budget',
      timeBaseline: 80,
      sizeBaselines: [
        ['size_bytes_vs_prototype', 84],
        ['size_bytes_vs_budget', 280],
      ],
    },
    {
      name: 'field_report',
      Type: leyline.FieldReport,
      message: fieldReportFixture(),
      timeMetric: 'encode_decode_us_vs_design_budget',
      timeBaseline: 120,
      sizeBaselines: [['size_bytes_vs_prototype', 134]],
    },
  ];

  for (const c of cases) {
    const micros = medianMicros(roundTrip(c.Type, c.message));
    report(BENCH, `${c.name}.${c.timeMetric}`, micros, 'us', c.timeBaseline);
    const size = encodeLeyline(c.message).length;
    for (const [metric, baseline] of c.sizeBaselines) report(BENCH, `${c.name}.${metric}`, size, 'bytes', baseline);
  }

  // Sign + verify a command (fresh command id each time, so every verification is a real acceptance).
  const ctx = new SignatureContext('bench-secret');
  const verifier = new CommandVerifier(ctx);
  const command = adaptationCommandFixture();
  const signVerify = medianMicros(() => {
    signCommand(command, ctx);
    return verifier.verify(command).accepted ? 1 : 0;
  });
  const accepted = verifier.counters().ok;
  const attempts = WARMUP + SAMPLES * BATCH;
  if (accepted !== attempts) throw new Error(`sign+verify bench: ${attempts - accepted} commands were rejected`);

  const plain = adaptationCommandFixture();
  const floor = medianMicros(() => {
    let n = 0;
    for (let k = 0; k < 2; k++) n += createHmac('sha256', 'bench-secret').update(encodeLeyline(plain)).digest().length;
    return n;
  });
  report(BENCH, 'adaptation_command.sign_verify_us_vs_2x_encode_hmac', signVerify, 'us', floor);

  if (sink === Number.MIN_VALUE) process.stderr.write('');
}
