// Kubernetes `Status` objects: what every error from MetaServer looks like, so kubectl and client
// libraries print a sensible message instead of failing to parse the body.

export type StatusReason = 'BadRequest' | 'NotFound' | 'MethodNotAllowed' | 'Expired' | 'InternalError' | 'NotAcceptable';

export interface StatusDetails {
  name?: string;
  kind?: string;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  details?: StatusDetails;
  code: number;
}

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  Expired: 410,
  InternalError: 500,
};

export function statusObject(reason: StatusReason, message: string, details?: StatusDetails): StatusObject {
  const status: StatusObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code: CODES[reason] };
  if (details !== undefined) status.details = details;
  return status;
}

/** Thrown inside request handling; the server answers with its Status. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
  readonly status: StatusObject;

  constructor(reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.status = statusObject(reason, message, details);
  }
}
