// Worker-thread entry: runs compile tasks one at a time for the pool. Each worker has its own TensorFlow.js,
// so a job that never ends can be stopped by terminating its worker.
import { parentPort } from 'node:worker_threads';
import { describeError } from '../../runtime/errors.ts';
import { runCompileTask, type CompileTask } from './compile-task.ts';

const port = parentPort;
if (!port) throw new Error('compile-worker.ts must run in a worker thread');

port.on('message', (task: CompileTask) => {
  runCompileTask(task).then(
    (output) => port.postMessage({ ok: true, output }, [output.artifact.buffer as ArrayBuffer]),
    (error: unknown) => port.postMessage({ ok: false, error: describeError(error) }),
  );
});
port.postMessage({ ready: true });
