// Typed errors of the device controller.

export type TwinRefusal =
  /** the device is not bound to the sending node */
  | 'not-bound'
  /** the device does not exist */
  | 'not-found'
  /** malformed resource or content */
  | 'invalid'
  /** an operation this controller does not handle */
  | 'unsupported';

export class DeviceControllerError extends Error {
  override readonly name: string = 'DeviceControllerError';
}

/** The edge sent something it may not send; answered with `error`. */
export class TwinRefusedError extends DeviceControllerError {
  override readonly name = 'TwinRefusedError';
  constructor(
    readonly reason: TwinRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The CRDs could not be installed or did not become Established in time. */
export class CrdInstallError extends DeviceControllerError {
  override readonly name = 'CrdInstallError';
}
