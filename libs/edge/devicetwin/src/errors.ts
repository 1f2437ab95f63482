// Typed errors of the device twin. Every refusal carries a code (what went wrong), the field at
// fault (dotted, e.g. `twin.temperature.actual.value`) and, for MQTT requests, the result code
// KubeEdge's clients read (400, 403, 404, 409, 413, 500).

export type DeviceTwinErrorCode =
  /** the MQTT payload is not a JSON object */
  | 'BAD_PAYLOAD'
  /** the payload is larger than maxPayloadBytes */
  | 'PAYLOAD_TOO_LARGE'
  /** a field is missing or has the wrong shape */
  | 'BAD_FIELD'
  /** a twin value cannot be read as its property's type */
  | 'WRONG_TYPE'
  /** a twin value is below minimum, above maximum, or too long */
  | 'OUT_OF_RANGE'
  /** the topic names a device that is not bound to this node */
  | 'UNKNOWN_DEVICE'
  /** the update names a property the device's model does not have */
  | 'UNKNOWN_PROPERTY'
  /** the edge tried to set what only the cloud sets (desired values) */
  | 'NOT_ALLOWED'
  /** the update carries a version other than the twin's current one */
  | 'VERSION_CONFLICT'
  /** a down message from the cloud that must not be applied */
  | 'BAD_MESSAGE'
  | 'STORE_CLOSED'
  | 'INVALID_OPTION'
  | 'INTERNAL';

const RESULT_CODES: Record<DeviceTwinErrorCode, number> = {
  BAD_PAYLOAD: 400,
  PAYLOAD_TOO_LARGE: 413,
  BAD_FIELD: 400,
  WRONG_TYPE: 400,
  OUT_OF_RANGE: 400,
  UNKNOWN_DEVICE: 404,
  UNKNOWN_PROPERTY: 400,
  NOT_ALLOWED: 403,
  VERSION_CONFLICT: 409,
  BAD_MESSAGE: 400,
  STORE_CLOSED: 500,
  INVALID_OPTION: 500,
  INTERNAL: 500,
};

export class DeviceTwinError extends Error {
  override readonly name: string = 'DeviceTwinError';
  readonly code: DeviceTwinErrorCode;
  /** dotted path of the field at fault, e.g. `twin.temperature.actual.value` */
  readonly field: string | undefined;
  /** the problem without the field prefix */
  readonly reason: string;

  constructor(code: DeviceTwinErrorCode, reason: string, field?: string, options?: { cause?: unknown }) {
    super(field === undefined ? reason : `${field}: ${reason}`, options);
    this.code = code;
    this.field = field;
    this.reason = reason;
  }

  /** The numeric code of an MQTT error result (HTTP-like, as KubeEdge's results). */
  get resultCode(): number {
    return RESULT_CODES[this.code];
  }
}

/** A down message from the cloud refused before anything was written. */
export class BadMessageError extends DeviceTwinError {
  override readonly name = 'BadMessageError';
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('BAD_MESSAGE', message, field, options);
  }
}

export class StoreClosedError extends DeviceTwinError {
  override readonly name = 'StoreClosedError';
  constructor(action: string) {
    super('STORE_CLOSED', `cannot ${action}: the twin store is closed`);
  }
}

/** A short, safe rendering of an unexpected value for error messages. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : typeof value;
}
