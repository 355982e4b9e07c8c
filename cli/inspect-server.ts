// The socket `esper inspect` attaches to: `inspect.sock` in the run's directory, served by `esper run` for its
// tree. Newline-delimited JSON: `{"id":1,"command":"tree"}` → `{"id":1,"ok":true,"text":…}` or
// `{"id":1,"ok":false,"error":…}`; `{"id":2,"complete":"actor /weath"}` → `{"id":2,"ok":true,"completions":[…],
// "fragment":"/weath"}`. Answers carry the request's id and may come out of order. Owner-only (mode 0600): it
// can stop actors. Inspection never stops a run: a socket that cannot be made is logged and the run goes on.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathOfKind, type TreeNode, type Weatherlight } from '../actors/weatherlight/index.ts';
import { createLogger } from '../runtime/log.ts';
import { InspectRunner } from './inspect-runner.ts';

export const SOCKET_NAME = 'inspect.sock';
/** Longest path a Unix domain socket may have (sun_path is 108 bytes on Linux, with its terminating NUL). */
const MAX_SOCKET_PATH = 107;

export type InspectResponse =
  | { id: number | null; ok: true; text: string }
  | { id: number | null; ok: true; completions: string[]; fragment: string }
  | { id: number | null; ok: false; error: string };

export interface InspectServer {
  readonly path: string;
  /** Stops answering, ends the open sessions and removes the socket file. */
  close(): Promise<void>;
}

/** Serves the run's tree on `<run dir>/inspect.sock`; null when there is no run or inspector, or no socket. */
export async function serveInspection(weatherlight: Weatherlight, tree: TreeNode): Promise<InspectServer | null> {
  const log = createLogger('inspect');
  if (!weatherlight.run || !weatherlight.inspector) return null;
  const path = join(weatherlight.run.dir, SOCKET_NAME);
  const runner = new InspectRunner({
    system: weatherlight.system,
    inspector: weatherlight.inspector,
    trainer: pathOfKind(tree, 'tolaria-trainer'),
    seedManager: pathOfKind(tree, 'kasmina-manager'),
  });
  try {
    mkdirSync(weatherlight.run.dir, { recursive: true });
    const server = await startInspectServer(path, runner);
    log.info('socket ready', { path });
    return server;
  } catch (error) {
    log.warn('no inspect socket', { path, error: (error as Error).message });
    return null;
  }
}

/** Answers on the socket at `path` (replacing a stale one); rejects when it cannot, naming why. */
export async function startInspectServer(path: string, runner: InspectRunner): Promise<InspectServer> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
    throw new Error(`the path is too long for a Unix socket (${MAX_SOCKET_PATH} bytes at most)`);
  const sessions = new Set<Socket>();
  const server = createServer((socket) => {
    sessions.add(socket);
    socket.on('close', () => sessions.delete(socket));
    // A client that went away mid-answer is no error of ours.
    socket.on('error', () => socket.destroy());
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => {
      if (line.trim() === '') return;
      void respond(runner, line).then((response) => {
        if (socket.writable) socket.write(`${JSON.stringify(response)}\n`);
      });
    });
  });
  await listen(server, path);
  chmodSync(path, 0o600);
  // Inspection never stops a run: a later failure of the socket is logged, not thrown.
  server.on('error', (error) => createLogger('inspect').warn('inspect socket failed', { path, error: error.message }));
  server.unref();
  return {
    path,
    async close() {
      for (const socket of sessions) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(path, { force: true });
    },
  };
}

async function respond(runner: InspectRunner, line: string): Promise<InspectResponse> {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { id: null, ok: false, error: 'bad request: not JSON (one object per line: {"id":1,"command":"help"})' };
  }
  const fields = typeof request === 'object' && request !== null ? (request as Record<string, unknown>) : {};
  const id = typeof fields.id === 'number' ? fields.id : null;
  if (typeof fields.command === 'string') return { id, ...(await runner.run(fields.command)) };
  if (typeof fields.complete === 'string') {
    const [completions, fragment] = await runner.complete(fields.complete);
    return { id, ok: true, completions, fragment };
  }
  return { id, ok: false, error: 'bad request: needs "command" (a command line) or "complete" (a line to complete)' };
}

/** Listens on `path`, replacing a socket file left by a run that was killed (one nothing answers on). */
async function listen(server: Server, path: string): Promise<void> {
  try {
    await listenOnce(server, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    if (await answers(path)) throw new Error(`another process is serving ${path}`);
    rmSync(path, { force: true });
    await listenOnce(server, path);
  }
}

function listenOnce(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** True when something accepts a connection on the socket at `path`. */
export function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
