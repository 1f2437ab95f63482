// Errors of Kubernetes API calls, whoever made them: client-node's typed clients throw an ApiException
// (HTTP status in `code`), KubeJson throws KubeApiError (status and request path). Controllers only
// ask "which status?", "conflict?", "not found?" and "what does it say?", the same way for both.

/** A request of KubeJson failed; `status` is the HTTP status when an answer came. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    message: string,
    /** the request path, e.g. /api/v1/pods */
    readonly path: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The HTTP status of an error thrown by client-node (`code`, `statusCode`) or by KubeJson, if it has one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof KubeApiError) return error.status;
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as Record<string, unknown>;
  for (const field of ['code', 'statusCode']) {
    const value = record[field];
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}

/** 409: a create of an existing object, or an update against an older resourceVersion. */
export function isConflict(error: unknown): boolean {
  return httpStatusOf(error) === 409;
}

export function isNotFound(error: unknown): boolean {
  return httpStatusOf(error) === 404;
}

/** The message of anything thrown, for logs and answers. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
