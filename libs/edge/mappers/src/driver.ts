// The contract every protocol driver fulfils. Raw values are what the device yields after the protocol's own
// decoding (Modbus data type, scale; BLE data converter); the runner converts them to the model's type.
import type { PropertyVisitor } from './model';

export type RawValue = number | boolean | string;

export interface ProtocolDriver {
  readonly protocolName: string;
  /** checks a visitor's configData up front; throws MapperError naming the field */
  validate(visitor: PropertyVisitor): void;
  connect(): Promise<void>;
  read(visitor: PropertyVisitor): Promise<RawValue>;
  write(visitor: PropertyVisitor, value: RawValue): Promise<void>;
  /** optional push (e.g. BLE notifications); returns an unsubscribe function */
  subscribe?(visitor: PropertyVisitor, listener: (value: RawValue) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export type DriverFactory = (protocolConfig: Record<string, unknown>, device: string) => ProtocolDriver;
