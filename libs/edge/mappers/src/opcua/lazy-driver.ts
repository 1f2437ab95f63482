// node-opcua costs about 60 MiB of RSS and a second of start-up, and prints a warning when it loads: a
// gateway without OPC UA devices must not pay that. This driver checks the config and visitors at once
// (config.ts needs no node-opcua) and loads the real driver on the first connect.
import type { ProtocolDriver, RawValue, SubscribeOptions } from '../driver';
import type { MapperError } from '../errors';
import type { PropertyVisitor } from '../model';
import { parseNodeId, parseOpcUaProtocol, type OpcUaProtocolConfig } from './config';
import type { OpcUaDriver, OpcUaDriverDefaults } from './driver';

export class LazyOpcUaDriver implements ProtocolDriver {
  readonly protocolName = 'opcua';
  readonly config: OpcUaProtocolConfig;
  private inner: OpcUaDriver | undefined;
  private readonly lostListeners = new Set<(error: MapperError) => void>();

  constructor(
    private readonly protocolConfig: Record<string, unknown>,
    private readonly device: string,
    private readonly defaults: OpcUaDriverDefaults = {},
  ) {
    this.config = parseOpcUaProtocol(protocolConfig, device);
  }

  validate(visitor: PropertyVisitor): void {
    parseNodeId(visitor.configData, this.device, visitor.property.name);
  }

  /** the same rule as OpcUaDriver.subscribes: OPC UA pushes unless a visitor says `subscribe: false` */
  subscribes(visitor: PropertyVisitor): boolean {
    return visitor.configData['subscribe'] !== false;
  }

  onConnectionLost(listener: (error: MapperError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async connect(): Promise<void> {
    if (this.inner === undefined) {
      const { OpcUaDriver } = await import('./driver');
      this.inner = new OpcUaDriver(this.protocolConfig, this.device, this.defaults);
      this.inner.onConnectionLost((error) => {
        for (const listener of this.lostListeners) listener(error);
      });
    }
    await this.inner.connect();
  }

  read(visitor: PropertyVisitor): Promise<RawValue> {
    return this.loaded().read(visitor);
  }

  write(visitor: PropertyVisitor, value: RawValue): Promise<void> {
    return this.loaded().write(visitor, value);
  }

  subscribe(visitor: PropertyVisitor, listener: (value: RawValue) => void, options?: SubscribeOptions): Promise<() => Promise<void>> {
    return this.loaded().subscribe(visitor, listener, options);
  }

  async close(): Promise<void> {
    await this.inner?.close();
  }

  private loaded(): OpcUaDriver {
    if (this.inner === undefined) throw new Error(`OPC UA driver of device ${this.device} used before connect()`);
    return this.inner;
  }
}
