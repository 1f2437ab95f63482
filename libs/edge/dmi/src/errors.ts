// A refusal on the DMI API: the gRPC status a mapper (or edgecore) gets, and the field at fault, so the
// message says which object and which field are wrong.
import { status } from '@grpc/grpc-js';

export type DmiErrorCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'FAILED_PRECONDITION' | 'RESOURCE_EXHAUSTED' | 'UNAVAILABLE' | 'INTERNAL' | 'PERMISSION_DENIED';

export class DmiError extends Error {
  override readonly name = 'DmiError';
  readonly code: DmiErrorCode;
  /** dotted path of the field at fault in the request, e.g. `reportedDevice.twins[0].reported.value` */
  readonly field: string | undefined;

  constructor(code: DmiErrorCode, reason: string, field?: string, options?: { cause?: unknown }) {
    super(field === undefined ? reason : `${field}: ${reason}`, options);
    this.code = code;
    this.field = field;
  }

  /** the grpc-js status number of this code */
  get grpcStatus(): status {
    return status[this.code];
  }
}

/** A short, printable form of a value a peer sent, for an error message. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
