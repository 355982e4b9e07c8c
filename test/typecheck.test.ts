// The whole project type-checks under `strict`, including the `@ts-expect-error` lines that prove refs and
// messages are typed (a plain object where a Leyline message is expected must be a compile error).
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

test('tsc --noEmit passes on the whole project', async (t) => {
  const result = await promisify(execFile)(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'],
    {
      cwd: new URL('..', import.meta.url).pathname,
    },
  ).then(
    () => ({ ok: true, output: '' }),
    (error: { stdout?: string; stderr?: string }) => ({
      ok: false,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
  t.true(result.ok, result.output);
});
