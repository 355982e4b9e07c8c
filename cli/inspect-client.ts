// The client side of the inspect socket (protocol: inspect-server.ts): one connection, requests matched to their
// answers by id.
import { createConnection, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Answer } from './inspect-runner.ts';
import type { InspectResponse } from './inspect-server.ts';

export class InspectClient {
  readonly #socket: Socket;
  readonly #pending = new Map<
    number,
    { resolve: (response: InspectResponse) => void; reject: (error: Error) => void }
  >();
  #nextId = 0;
  #closed = false;
  /** Resolves when the connection ends (the run has stopped, or `close`). */
  readonly ended: Promise<void>;

  private constructor(socket: Socket) {
    this.#socket = socket;
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => {
      const response = JSON.parse(line) as InspectResponse;
      const waiting = response.id === null ? undefined : this.#pending.get(response.id);
      if (!waiting) return;
      this.#pending.delete(response.id!);
      waiting.resolve(response);
    });
    this.ended = new Promise((resolve) => {
      socket.on('close', () => {
        this.#closed = true;
        for (const waiting of this.#pending.values())
          waiting.reject(new Error('the run has ended (its inspect socket closed)'));
        this.#pending.clear();
        resolve();
      });
    });
    socket.on('error', () => socket.destroy());
  }

  /** Connects to the socket at `path`; rejects naming it when nothing answers there. */
  static connect(path: string): Promise<InspectClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.setEncoding('utf8');
      socket.once('connect', () => resolve(new InspectClient(socket)));
      socket.once('error', (error: NodeJS.ErrnoException) => {
        reject(new Error(`nothing answers on ${path} (${error.code ?? error.message}): has the run ended?`));
      });
    });
  }

  async run(command: string): Promise<Answer> {
    const response = await this.#request({ command });
    if (!response.ok) return { ok: false, error: response.error };
    return 'text' in response
      ? { ok: true, text: response.text }
      : { ok: false, error: 'the server sent completions for a command' };
  }

  /** readline's completer answer: candidates and the word they replace (none when the server cannot tell). */
  async complete(line: string): Promise<[string[], string]> {
    const response = await this.#request({ complete: line });
    return response.ok && 'completions' in response ? [response.completions, response.fragment] : [[], line];
  }

  close(): void {
    this.#socket.end();
  }

  #request(fields: { command: string } | { complete: string }): Promise<InspectResponse> {
    if (this.#closed) return Promise.reject(new Error('the run has ended (its inspect socket closed)'));
    this.#nextId += 1;
    const id = this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.write(`${JSON.stringify({ id, ...fields })}\n`);
    });
  }
}
