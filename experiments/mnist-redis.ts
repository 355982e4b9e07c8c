// The default MNIST growth run spread over processes sharing one Redis (ESPER_LEYLINE_SECRET must be set, the same
// in every process). This process trains (Tolaria, Tamiyo, Kasmina, Urza…); Simic and Nissa run elsewhere:
//
//   export ESPER_LEYLINE_SECRET=…
//   npx esper serve simic experiments/mnist-redis.ts     # learns the policy from the field reports
//   npx esper serve nissa experiments/mnist-redis.ts     # Prometheus, alerts, the dashboard on :9100
//   npx esper run experiments/mnist-redis.ts             # trains
import { defineExperiment } from '../actors/weatherlight/index.ts';
import mnist from './mnist-mlp.ts';

export default defineExperiment({
  ...mnist,
  name: 'mnist-redis',
  bus: 'redis://127.0.0.1:6379',
  // Simic, served by another process, learns the policy from this run's field reports and sends it to Tamiyo.
  simic: true,
  servedElsewhere: ['simic', 'nissa'],
});
