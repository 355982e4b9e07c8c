// Small tensor operations TensorFlow.js lacks.
import { tf } from './backend.ts';

const detached = tf.customGrad((...inputs) => {
  const x = inputs[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
});

/** The value of `x`, with no gradient flowing back through it (TF's stop_gradient, PyTorch's detach). */
export function stopGradient(x: tf.Tensor): tf.Tensor {
  return detached(x);
}
