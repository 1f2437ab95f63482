// One error type for every failed CRI call, so callers (edged) can branch on `code` and operators get a
// message that says which call, on which object, failed and what to do about it.
import { status as grpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';

export type GrpcCodeName = keyof typeof grpcStatus;

const CODE_NAMES = new Map<number, GrpcCodeName>(
  (Object.entries(grpcStatus) as Array<[GrpcCodeName, number | string]>)
    .filter((entry): entry is [GrpcCodeName, number] => typeof entry[1] === 'number')
    .map(([name, value]) => [value, name]),
);

export function grpcCodeName(code: number): GrpcCodeName {
  return CODE_NAMES.get(code) ?? 'UNKNOWN';
}

export interface CriErrorDetails {
  /** The CRI method, e.g. CreateContainer. */
  method: string;
  /** What the call was about, e.g. `pod default/web container app` or `container 4f1c…`. */
  target: string;
  code: GrpcCodeName;
  /** The runtime's own message, unmodified. */
  details: string;
  socketPath: string;
}

export class CriError extends Error {
  override readonly name = 'CriError';
  readonly method: string;
  readonly target: string;
  readonly code: GrpcCodeName;
  readonly details: string;
  readonly socketPath: string;

  constructor(fields: CriErrorDetails, options?: { cause?: unknown }) {
    super(formatMessage(fields), options);
    this.method = fields.method;
    this.target = fields.target;
    this.code = fields.code;
    this.details = fields.details;
    this.socketPath = fields.socketPath;
  }
}

/** Wraps a grpc-js failure (or anything thrown while calling) into a CriError. */
export function toCriError(error: unknown, method: string, target: string, socketPath: string): CriError {
  if (error instanceof CriError) return error;
  const serviceError = error as Partial<ServiceError>;
  const code = typeof serviceError.code === 'number' ? grpcCodeName(serviceError.code) : 'UNKNOWN';
  // grpc-js appends an empty "Resolution note:" to connection errors; it only adds noise.
  const details = (serviceError.details ?? (error instanceof Error ? error.message : String(error))).replace(/\.?\s*Resolution note:\s*$/, '');
  return new CriError({ method, target, code, details, socketPath }, { cause: error });
}

// Edge nodes usually have no registry, so a missing image is fixed by importing it, not by retrying.
const IMPORT_HINT = 'import it with ctr -n k8s.io images import';

function formatMessage(fields: CriErrorDetails): string {
  const head = `${fields.method} for ${fields.target}: ${fields.code}: `;
  const image = /image "([^"]+)"/.exec(fields.details)?.[1];
  if (fields.code === 'NOT_FOUND' && /image/i.test(fields.details)) {
    return `${head}image ${image ? `"${image}" ` : ''}not present; ${IMPORT_HINT} (runtime: ${fields.details})`;
  }
  // containerd pulls a missing sandbox image on RunPodSandbox and reports the failed pull as UNKNOWN.
  if (/failed to (get sandbox image|pull (and unpack )?image)/i.test(fields.details)) {
    return `${head}${fields.details}; if no registry is reachable, ${IMPORT_HINT}`;
  }
  if (fields.code === 'UNAVAILABLE') {
    return `${head}cannot reach the CRI socket ${fields.socketPath}; is containerd running? (${fields.details})`;
  }
  if (fields.code === 'DEADLINE_EXCEEDED') {
    return `${head}no answer from ${fields.socketPath} before the deadline (${fields.details})`;
  }
  return head + fields.details;
}
