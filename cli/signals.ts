// SIGINT/SIGTERM for long-running commands: the first asks for a graceful stop, a second exits at once.
export interface StopSignal {
  signalled: Promise<NodeJS.Signals>;
  /** Lets the process end once the command is done. */
  release(): void;
}

export function listenForStop(): StopSignal {
  // Listen before announcing anything: a signal that arrives before a listener exists kills the process.
  // Actor timers are unref'd and signal handlers do not hold the event loop: this does, until released.
  const keepAlive = setInterval(() => undefined, 60_000);
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      resolveSignal(signal);
      process.once(signal, () => {
        process.stderr.write(`esper: second ${signal}, exiting without waiting\n`);
        process.exit(130);
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return { signalled, release: () => clearInterval(keepAlive) };
}
