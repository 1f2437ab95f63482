// Typed errors of the edge stream side; `code` is the HTTP status the cloud answers kubectl with.

export class StreamFailure extends Error {
  override readonly name = 'StreamFailure';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
