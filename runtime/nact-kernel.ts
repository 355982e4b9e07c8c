// The one place that imports nact (pinned at 7.6.2). nact gives us mailboxes and one-message-at-a-time
// execution; everything it does unsafely (supervision, names, dead letters, typing) is kept away from it:
// our handler never throws into nact, so nact's own crash handling never runs.
import nact from 'nact';

/** An opaque nact reference. */
export interface KernelRef {
  readonly __kernelRef: unique symbol;
}

export interface Kernel {
  readonly name: string;
  /** Spawns a nact actor whose handler is `handle(message)`; `handle` must never throw. */
  spawn(parent: KernelRef | null, name: string, handle: (message: unknown) => void | Promise<void>): KernelRef;
  dispatch(ref: KernelRef, message: unknown): void;
  stop(ref: KernelRef): void;
  shutdown(): void;
}

type NactRef = Parameters<typeof nact.dispatch>[0];

export function startKernel(name: string, onInternalError: (error: unknown) => void): Kernel {
  // nact 7.6.2 ignores start('name'): the name must be passed as { name }.
  const system = nact.start({ name } as unknown as Parameters<typeof nact.start>[0]);
  const toNact = (ref: KernelRef): NactRef => ref as unknown as NactRef;
  const fromNact = (ref: unknown): KernelRef => ref as KernelRef;
  return {
    name,
    spawn(parent, childName, handle) {
      const ref = nact.spawn(
        (parent ? toNact(parent) : system) as never,
        (state: unknown, message: unknown) => {
          const pending = handle(message);
          return pending ? pending.then(() => state) : state;
        },
        childName,
        {
          // Unreachable while `handle` keeps its promise never to throw; if it ever does, keep the actor going.
          onCrash: (_message: unknown, error: unknown, ctx: { resume: unknown }) => {
            onInternalError(error);
            return ctx.resume;
          },
        } as never,
      );
      return fromNact(ref);
    },
    dispatch(ref, message) {
      nact.dispatch(toNact(ref), message as never);
    },
    stop(ref) {
      nact.stop(toNact(ref));
    },
    shutdown() {
      nact.stop(system);
    },
  };
}
