// Simic's PPO on the network Tamiyo runs, in the slot bandit (actors/simic/slot-bandit.ts):
// update_throughput: experiences per second through one PPO update (3 epochs of minibatches of 16: forward and
//   backward through the GNN per experience, gradient clipping, Adam), for batches of 32 and 128 experiences;
//   baseline: the same experiences through the forward pass alone (inference), in the same run.
// learning_curve: after each of 6 updates of 32 sampled experiences, Tamiyo's greedy decisions on 64 held-out
//   states: the share of best actions (baseline: before any update) and the mean reward.
import { setUpKarn } from '../actors/karn/index.ts';
import { TamiyoGnn } from '../actors/tamiyo/gnn.ts';
import { rankCandidates } from '../actors/tamiyo/observation.ts';
import { DEFAULT_PPO_CONFIG, PpoTrainer } from '../actors/simic/ppo.ts';
import { collect, evaluate, SlotBandit } from '../actors/simic/slot-bandit.ts';
import { mulberry32 } from '../runtime/seeded-random.ts';
import { selectTensorBackend } from '../runtime/tensor-backend.ts';
import { report } from './report.ts';

const BENCH = 'simic';

export async function run(): Promise<void> {
  await selectTensorBackend('wasm');
  const { catalog } = setUpKarn({});
  const candidates = rankCandidates(catalog.all()).slice(0, 4);
  const config = { ...DEFAULT_PPO_CONFIG, epochs: 3, learningRate: 1e-3 };

  for (const size of [32, 128]) {
    const gnn = new TamiyoGnn();
    const trainer = new PpoTrainer(gnn, config);
    const experiences = collect(gnn, new SlotBandit(7), size, candidates, mulberry32(3));
    trainer.update(experiences.slice(0, 16)); // warm-up: kernels, optimizer slots
    const started = performance.now();
    trainer.update(experiences);
    const perSecond = (size * config.epochs) / ((performance.now() - started) / 1000);
    const inferStarted = performance.now();
    for (const e of experiences) gnn.infer(e.graph);
    const inferPerSecond = size / ((performance.now() - inferStarted) / 1000);
    report(BENCH, `update_throughput_${size}`, perSecond, 'experience-epochs/s', inferPerSecond);
    trainer.dispose();
    gnn.dispose();
  }

  const gnn = new TamiyoGnn();
  const trainer = new PpoTrainer(gnn, config);
  const random = mulberry32(5);
  const env = new SlotBandit(1);
  const held = () => new SlotBandit(999);
  const before = evaluate(gnn, held(), 64, candidates);
  report(BENCH, 'learning_curve_best_rate_0', before.bestRate, 'share', before.bestRate);
  for (let update = 1; update <= 6; update++) {
    trainer.update(collect(gnn, env, 32, candidates, random));
    const now = evaluate(gnn, held(), 64, candidates);
    report(BENCH, `learning_curve_best_rate_${update}`, now.bestRate, 'share', before.bestRate);
    report(BENCH, `learning_curve_reward_${update}`, now.averageReward, 'reward', before.averageReward);
  }
  trainer.dispose();
  gnn.dispose();
}
