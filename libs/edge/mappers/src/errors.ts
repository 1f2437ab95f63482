// Typed mapper errors: every failure carries a code, and where known the device and the config field at fault.
export type MapperErrorCode =
  | 'CONFIG_INVALID'
  | 'UNKNOWN_PROTOCOL'
  | 'UNKNOWN_REGISTER'
  | 'OFFSET_OUT_OF_RANGE'
  | 'UNSUPPORTED_TYPE'
  | 'NOT_WRITABLE'
  | 'VALUE_INVALID'
  | 'VALUE_OUT_OF_RANGE'
  | 'NOT_CONNECTED'
  | 'CONNECT_FAILED'
  | 'IO_FAILED'
  | 'BLE_UNAVAILABLE'
  | 'AUTH_FAILED'
  | 'UNSUPPORTED_PUSH_METHOD';

export interface MapperErrorContext {
  device?: string;
  property?: string;
  field?: string;
  cause?: unknown;
}

export class MapperError extends Error {
  readonly code: MapperErrorCode;
  readonly device: string | undefined;
  readonly property: string | undefined;
  readonly field: string | undefined;

  constructor(code: MapperErrorCode, message: string, context: MapperErrorContext = {}) {
    const where = [
      context.device ? `device ${context.device}` : '',
      context.property ? `property ${context.property}` : '',
      context.field ? `field ${context.field}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    super(`${code}: ${where ? `${where}: ` : ''}${message}`, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'MapperError';
    this.code = code;
    this.device = context.device;
    this.property = context.property;
    this.field = context.field;
  }

  /** the same error, now naming the device (drivers often do not know it) */
  withDevice(device: string): MapperError {
    if (this.device) return this;
    return new MapperError(this.code, this.message.replace(/^[A-Z_]+: /, ''), {
      device,
      property: this.property,
      field: this.field,
      cause: this.cause,
    });
  }
}

/** transport-level failures: the device is unreachable, so the runner marks it offline and reconnects */
export function isConnectionError(error: unknown): boolean {
  return error instanceof MapperError && (error.code === 'CONNECT_FAILED' || error.code === 'IO_FAILED' || error.code === 'NOT_CONNECTED');
}
