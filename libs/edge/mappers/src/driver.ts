// The contract every protocol driver fulfils. Raw values are what the device yields after the protocol's own
// decoding (Modbus data type, scale; BLE data converter); the runner converts them to the model's type.
import type { MapperError } from './errors';
import type { PropertyVisitor } from './model';

export type RawValue = number | boolean | string;

export interface SubscribeOptions {
  intervalMs?: number;
  onError?: (error: MapperError) => void;
}

export interface ProtocolDriver {
  readonly protocolName: string;
  /** checks a visitor's configData up front; throws MapperError naming the field */
  validate(visitor: PropertyVisitor): void;
  connect(): Promise<void>;
  read(visitor: PropertyVisitor): Promise<RawValue>;
  write(visitor: PropertyVisitor, value: RawValue): Promise<void>;
  /**
   * optional push (BLE notifications, OPC UA monitored items); returns an unsubscribe function. `intervalMs` is
   * the property's collectCycle (OPC UA's sampling interval); `onError` gets a bad pushed value.
   */
  subscribe?(visitor: PropertyVisitor, listener: (value: RawValue) => void, options?: SubscribeOptions): Promise<() => Promise<void>>;
  /** whether a property is pushed rather than polled; default: the visitor's `notify: true` */
  subscribes?(visitor: PropertyVisitor): boolean;
  /** tells the runner of a connection lost between requests (a pushing driver may never be asked to read) */
  onConnectionLost?(listener: (error: MapperError) => void): () => void;
  close(): Promise<void>;
}

export type DriverFactory = (protocolConfig: Record<string, unknown>, device: string) => ProtocolDriver;
