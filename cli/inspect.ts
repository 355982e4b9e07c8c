// `esper inspect [<run-dir | run-id>] [--exec "<command>"]`: a REPL attached to a running `esper run` through the
// inspect socket in its run directory (default: the newest run under var/runs whose socket answers). Tab completes
// commands, actor paths and Leyline type names; `--exec` runs one command for scripts (exit 0 ok, 1 error).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface, type AsyncCompleter } from 'node:readline';
import { runsDir } from '../actors/tolaria/index.ts';
import { resolveConfig } from './config.ts';
import { UsageError } from './forge.ts';
import { InspectClient } from './inspect-client.ts';
import { answers, SOCKET_NAME } from './inspect-server.ts';

export const INSPECT_USAGE = `  inspect [<run-dir | run-id>] [--exec "<command>"]
                    a REPL attached to a running esper run (its inspect.sock): tree, actor,
                    seeds, alerts, tail telemetry, send, restart, stop, pause, resume, help;
                    Tab completes. Default: the newest live run under var/runs. --exec runs one
                    command, prints its answer and exits 0 (1 when it failed)
`;

export async function inspect(args: readonly string[]): Promise<number> {
  let target: string | undefined;
  let command: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--exec') {
      command = args[++i];
      if (command === undefined) throw new UsageError('--exec needs a command, e.g. --exec "tree"');
    } else if (arg.startsWith('--')) throw new UsageError(`esper inspect: unknown option ${arg}`);
    else if (target === undefined) target = arg;
    else throw new UsageError(`esper inspect: one run, got ${target} and ${arg}`);
  }
  const { config } = await resolveConfig(undefined);
  const client = await InspectClient.connect(await findSocket(target, runsDir(config.run.varDir)));
  if (command === undefined) return repl(client, process.stdin, process.stdout, process.stdin.isTTY === true);
  const answer = await client.run(command);
  client.close();
  if (answer.ok) process.stdout.write(`${answer.text}\n`);
  else process.stderr.write(`esper inspect: ${answer.error}\n`);
  return answer.ok ? 0 : 1;
}

/** The socket of the named run (a directory, or a run id under `runs`), else of the newest run that answers. */
async function findSocket(target: string | undefined, runs: string): Promise<string> {
  if (target !== undefined) {
    const socket = [resolve(target), join(runs, target)]
      .map((dir) => join(dir, SOCKET_NAME))
      .find((path) => existsSync(path));
    if (!socket)
      throw new Error(
        `no live run at ${JSON.stringify(target)}: neither a run directory nor a run id under ${runs} has an ${SOCKET_NAME}`,
      );
    return socket;
  }
  const sockets = (existsSync(runs) ? readdirSync(runs) : [])
    .map((run) => join(runs, run, SOCKET_NAME))
    .filter((path) => existsSync(path))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const socket of sockets) if (await answers(socket)) return socket;
  throw new Error(
    `no running esper run under ${runs} (none has a live ${SOCKET_NAME}); start one with esper run, or name its run directory`,
  );
}

/**
 * Reads command lines from `input` until it ends or `exit`, printing each answer. Exits 0 when the user leaves,
 * 1 when the run goes away first.
 */
export async function repl(
  client: InspectClient,
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  terminal: boolean,
): Promise<number> {
  const completer: AsyncCompleter = (line, callback) => {
    client.complete(line).then(
      (result) => callback(null, result),
      () => callback(null, [[], line]),
    );
  };
  const rl = createInterface({ input, output, terminal, completer, prompt: 'esper> ' });
  let lost = false;
  void client.ended.then(() => {
    lost = true;
    rl.close();
  });
  output.write('esper inspect: attached (help lists the commands, exit leaves)\n');
  rl.prompt();
  for await (const line of rl) {
    const command = line.trim();
    if (command === 'exit' || command === 'quit') break;
    if (command !== '') {
      const answer = await client.run(command).catch((error: Error) => ({ ok: false as const, error: error.message }));
      output.write(answer.ok ? `${answer.text}\n` : `error: ${answer.error}\n`);
    }
    if (lost) break;
    rl.prompt();
  }
  rl.close();
  output.write('\n');
  if (lost) {
    output.write('esper inspect: the run has ended\n');
    return 1;
  }
  client.close();
  return 0;
}
