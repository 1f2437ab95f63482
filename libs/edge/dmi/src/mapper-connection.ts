// One registered mapper, seen from edgecore: a gRPC client of its DeviceMapperService and what it was
// last told. `sync(wanted)` sends the difference between what the mapper has and the member devices of
// its protocol: CreateDeviceModel/UpdateDeviceModel before RegisterDevice/UpdateDevice, RemoveDevice
// before RemoveDeviceModel. A failed call is logged and counted and retried on the next sync; a mapper
// that restarts re-registers and gets the whole list anyway.
import { Client, credentials, Metadata, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from '@kedge/telemetry';
import type { DmiMetrics } from './metrics';
import { deviceMapperService, type PbDevice, type PbDeviceModel } from './wire';

export interface MapperRegistration {
  name: string;
  version: string;
  protocol: string;
  /** the mapper's own socket path */
  address: string;
}

export interface MapperConnectionOptions {
  registration: MapperRegistration;
  logger: Logger;
  metrics: DmiMetrics;
  maxMessageBytes: number;
  callTimeoutMs: number;
}

export type DeviceMapperMethod = 'RegisterDevice' | 'RemoveDevice' | 'UpdateDevice' | 'CreateDeviceModel' | 'RemoveDeviceModel' | 'UpdateDeviceModel' | 'GetDevice';

/** What one member device should look like at the mapper. */
export interface WantedDevice {
  id: string;
  device: PbDevice;
  model: PbDeviceModel;
}

export class MapperConnection {
  readonly registration: MapperRegistration;
  readonly #options: MapperConnectionOptions;
  readonly #client: Client;
  /** device id → JSON of the Device the mapper has */
  readonly #devices = new Map<string, string>();
  /** `<ns>/<model>` → JSON of the DeviceModel the mapper has */
  readonly #models = new Map<string, string>();
  #chain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: MapperConnectionOptions) {
    this.#options = options;
    this.registration = options.registration;
    this.#client = new Client(`unix://${options.registration.address}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': options.maxMessageBytes,
    });
  }

  /** Records that the mapper got these with its registration answer (withData). */
  assumeHas(wanted: WantedDevice[]): void {
    for (const { id, device, model } of wanted) {
      this.#devices.set(id, JSON.stringify(device));
      this.#models.set(modelKey(model), JSON.stringify(model));
    }
  }

  /** Queues a sync to `wanted`; resolves when it (and every sync before it) is done. */
  sync(wanted: WantedDevice[]): Promise<void> {
    this.#chain = this.#chain.then(() => this.#sync(wanted)).catch((error: unknown) => this.#options.logger.error({ error, mapper: this.registration.name }, 'DMI sync failed'));
    return this.#chain;
  }

  async #sync(wanted: WantedDevice[]): Promise<void> {
    if (this.#closed) return;
    const models = new Map<string, PbDeviceModel>();
    for (const { model } of wanted) models.set(modelKey(model), model);
    for (const [key, model] of models) {
      const json = JSON.stringify(model);
      const had = this.#models.get(key);
      if (had === json) continue;
      if (await this.#try(had === undefined ? 'CreateDeviceModel' : 'UpdateDeviceModel', { model }, key)) this.#models.set(key, json);
    }
    const ids = new Set(wanted.map((w) => w.id));
    for (const { id, device } of wanted) {
      const json = JSON.stringify(device);
      const had = this.#devices.get(id);
      if (had === json) continue;
      if (await this.#try(had === undefined ? 'RegisterDevice' : 'UpdateDevice', { device }, id)) this.#devices.set(id, json);
    }
    for (const id of [...this.#devices.keys()]) {
      if (ids.has(id)) continue;
      const [deviceNamespace, deviceName] = splitId(id);
      if (await this.#try('RemoveDevice', { deviceName, deviceNamespace }, id)) this.#devices.delete(id);
    }
    for (const key of [...this.#models.keys()]) {
      if (models.has(key)) continue;
      const [modelNamespace, modelName] = splitId(key);
      if (await this.#try('RemoveDeviceModel', { modelName, modelNamespace }, key)) this.#models.delete(key);
    }
  }

  async #try(method: DeviceMapperMethod, request: object, object: string): Promise<boolean> {
    try {
      await this.call(method, request);
      this.#options.logger.debug({ mapper: this.registration.name, method, object }, 'DMI call done');
      return true;
    } catch (error) {
      this.#options.logger.warn({ mapper: this.registration.name, protocol: this.registration.protocol, method, object, error: (error as Error).message }, 'DMI call to mapper failed; retried on the next change or registration');
      return false;
    }
  }

  /** One unary call on the mapper, with a deadline; counted by method and result. */
  call<Response>(method: DeviceMapperMethod, request: object): Promise<Response> {
    const definition = deviceMapperService[method] as MethodDefinition<object, Response>;
    return new Promise<Response>((resolve, reject) => {
      this.#client.makeUnaryRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, request, new Metadata(), { deadline: Date.now() + this.#options.callTimeoutMs }, (error: ServiceError | null, response?: Response) => {
        this.#options.metrics.mapperCalls.inc({ method, result: error ? 'failed' : 'ok' });
        if (error) reject(error);
        else resolve(response as Response);
      });
    });
  }

  /** Drops the connection; queued syncs end without calling. */
  close(): void {
    this.#closed = true;
    this.#client.close();
  }
}

function modelKey(model: PbDeviceModel): string {
  return `${model.namespace || 'default'}/${model.name}`;
}

function splitId(id: string): [string, string] {
  const slash = id.indexOf('/');
  return [id.slice(0, slash), id.slice(slash + 1)];
}
