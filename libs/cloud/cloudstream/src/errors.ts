// Typed errors of the cloud stream side; `code` is the HTTP status kubectl is answered with.

export class StreamRefusedError extends Error {
  override readonly name = 'StreamRefusedError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A message on the `stream` group that no stream of the sending node can accept (forged or stale). */
export class UnknownStreamError extends Error {
  override readonly name = 'UnknownStreamError';
  constructor(
    readonly nodeName: string,
    readonly streamId: string,
    readonly operation: string,
  ) {
    super(`node "${nodeName}" sent "${operation}" for stream "${streamId}", which is not an open stream of that node`);
  }
}

/** A message of an open stream that breaks the stream protocol (wrong channel for its kind, payload not base64). */
export class MalformedStreamFrameError extends Error {
  override readonly name = 'MalformedStreamFrameError';
  constructor(
    readonly nodeName: string,
    readonly streamId: string,
    readonly problem: string,
  ) {
    super(`node "${nodeName}" sent a malformed frame for stream "${streamId}": ${problem}`);
  }
}
