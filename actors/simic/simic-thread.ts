// Worker-thread entry for Simic's training jobs: its own TensorFlow.js, one job at a time, so an update (seconds of
// forward and backward passes) never stalls the training thread.
import { parentPort } from 'node:worker_threads';
import { describeError } from '../../runtime/errors.ts';
import { selectTensorBackend, type BackendPreference } from '../../tensor/index.ts';
import type { ChannelReply } from '../../runtime/worker-channel.ts';
import { runTrainingJob, type TrainingJob, type TrainingOutcome } from './training-job.ts';

const port = parentPort;
if (!port) throw new Error('simic-thread.ts must run in a worker thread');

export type SimicRequest = { kind: 'train'; backend: string; job: TrainingJob };
export type SimicReply = ChannelReply<{ outcome: TrainingOutcome }>;

port.on('message', (request: SimicRequest) => {
  selectTensorBackend(request.backend as BackendPreference)
    .then(() => runTrainingJob(request.job))
    .then(
      (outcome) => port.postMessage({ ok: true, outcome } satisfies SimicReply),
      (error: unknown) => port.postMessage({ ok: false, error: describeError(error) } satisfies SimicReply),
    );
});
