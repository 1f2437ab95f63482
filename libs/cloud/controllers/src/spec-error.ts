// A spec the controllers cannot act on (a selector that matches nothing sensible, an unparsable
// maxSurge). It names the object and the field, so the Event and the log tell a person what to fix.
export class InvalidSpecError extends Error {
  override readonly name = 'InvalidSpecError';

  constructor(
    /** the field path, e.g. spec.strategy.rollingUpdate.maxSurge */
    readonly field: string,
    /** what is wrong and what was expected */
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}
