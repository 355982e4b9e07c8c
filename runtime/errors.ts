// Errors the actor runtime raises. Each names the actor and the problem, so a log line is enough to act on.

export class NotLeylineError extends TypeError {
  override readonly name: string = 'NotLeylineError';
  constructor(
    readonly recipient: string,
    offered: string,
  ) {
    super(
      `refused payload for ${recipient}: ${offered} is not a Leyline message (actor payloads must be Leyline messages)`,
    );
  }
}

/** A Leyline message with something else inside it (strict payloads): `problem` names the path. */
export class NotLeylineInsideError extends NotLeylineError {
  override readonly name = 'NotLeylineInsideError';
  constructor(
    recipient: string,
    readonly problem: string,
  ) {
    super(recipient, problem);
    this.message = `refused payload for ${recipient}: ${problem} (actor payloads must be Leyline messages all the way down)`;
  }
}

export class UnacceptedMessageError extends TypeError {
  override readonly name = 'UnacceptedMessageError';
  constructor(
    readonly recipient: string,
    readonly messageType: string,
    accepted: readonly string[],
  ) {
    super(`refused payload for ${recipient}: it does not accept ${messageType} (accepts ${accepted.join(', ')})`);
  }
}

export class InvalidActorNameError extends Error {
  override readonly name = 'InvalidActorNameError';
  constructor(
    readonly actorName: string,
    reason: string,
  ) {
    super(`invalid actor name ${JSON.stringify(actorName)}: ${reason}`);
  }
}

export class DuplicateActorError extends Error {
  override readonly name = 'DuplicateActorError';
  constructor(readonly path: string) {
    super(`an actor already exists at ${path}`);
  }
}

export class ActorStoppedError extends Error {
  override readonly name = 'ActorStoppedError';
  constructor(readonly path: string) {
    super(`actor ${path} is stopped`);
  }
}

export class AskTimeoutError extends Error {
  override readonly name = 'AskTimeoutError';
  constructor(
    readonly path: string,
    readonly messageType: string,
    readonly deadlineMs: number,
  ) {
    super(`ask to ${path} with ${messageType} got no reply within ${deadlineMs} ms`);
  }
}

export class DeliveryTimeoutError extends Error {
  override readonly name = 'DeliveryTimeoutError';
  constructor(
    readonly path: string,
    readonly messageType: string,
    readonly deadlineMs: number,
  ) {
    super(`${path} did not finish handling ${messageType} within ${deadlineMs} ms`);
  }
}

export class MailboxFullError extends Error {
  override readonly name = 'MailboxFullError';
  constructor(
    readonly path: string,
    readonly capacity: number,
  ) {
    super(`mailbox of ${path} is full (capacity ${capacity}); the message was refused`);
  }
}

export class ActorFailedError extends Error {
  override readonly name = 'ActorFailedError';
  constructor(
    readonly path: string,
    failure: unknown,
  ) {
    super(`actor ${path} failed while handling the request: ${describeError(failure)}`, { cause: failure });
  }
}

export class WrongReplyError extends TypeError {
  override readonly name = 'WrongReplyError';
  constructor(
    readonly path: string,
    got: string,
    expected: string,
  ) {
    super(`actor ${path} replied with ${got}, expected ${expected}`);
  }
}

/** "<ErrorName>: <message>" for anything thrown. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `NonError: ${String(error)}`;
}
