// Activation families: y = x + a ⊙ (act(x) − x), a per-feature (per-channel) mix that starts at zero, so the
// module starts as the identity and learns, feature by feature, how far to apply the nonlinearity.
import type { tf } from '../../tensor/index.ts';
import type { Family } from '../kit.ts';
import { gelu } from '../ops.ts';

function activationFamily(name: string, activation: (x: tf.Tensor) => tf.Tensor): Family {
  return {
    name,
    slotKinds: ['dense', 'conv'],
    defaults: {},
    build(context) {
      const mix = context.weights.zeros('mix', [context.width]);
      return { apply: (x) => x.add(activation(x).sub(x).mul(mix)) };
    },
  };
}

export const reluActivation = activationFamily('relu_activation', (x) => x.relu());
export const geluActivation = activationFamily('gelu_activation', gelu);
