// Typed errors of the eventbus: a machine code callers branch on, and the option or argument at fault.

export type EventBusErrorCode =
  /** a bad option passed to the constructor; a bug in the caller's configuration */
  | 'INVALID_OPTION'
  /** a topic or topic filter MQTT does not allow (empty, wildcards in a topic, NUL, too long) */
  | 'INVALID_TOPIC'
  /** publish/subscribe before start() or after stop() */
  | 'NOT_RUNNING'
  /** publish while the external broker is not connected (external mode) */
  | 'NOT_CONNECTED'
  /** the broker refused or failed a publish */
  | 'PUBLISH_FAILED'
  /** the internal broker could not listen (port in use, bad TLS material) */
  | 'LISTEN_FAILED';

export class EventBusError extends Error {
  override readonly name: string = 'EventBusError';
  readonly code: EventBusErrorCode;
  /** the option or argument at fault, e.g. `internal.port` or `topic` */
  readonly field: string | undefined;

  constructor(code: EventBusErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}
