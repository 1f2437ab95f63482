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

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The HTTP status of a client-node ApiException (field `code`) or a KubeApiError (`status`). */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as Record<string, unknown>;
  for (const field of ['code', 'status', 'statusCode']) {
    const value = record[field];
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}
