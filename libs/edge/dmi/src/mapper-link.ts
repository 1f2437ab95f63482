// MapperLink: the mapper's side of DMI, for mappers written in TypeScript (kedge's own out-of-process
// mapper uses it). It serves DeviceMapperService on the mapper's own owner-only unix socket, registers
// with edgecore's DeviceManagerService (MapperRegister, withData) and reports twins and states.
import { Client, credentials, Metadata, Server, type MethodDefinition, type sendUnaryData, type ServerUnaryCall, type ServiceError, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { checkName } from './device-convert';
import { DmiError } from './errors';
import { bindUnixSocket } from './unix-socket';
import { deviceManagerService, deviceMapperService, type PbDevice, type PbDeviceModel, type PbMapperRegisterResponse } from './wire';

/** What a mapper does when edgecore calls it. A thrown DmiError is answered with its status and field. */
export interface MapperHandlers {
  registerDevice(device: PbDevice): Promise<void>;
  updateDevice(device: PbDevice): Promise<void>;
  removeDevice(namespace: string, name: string): Promise<void>;
  createDeviceModel(model: PbDeviceModel): void;
  updateDeviceModel(model: PbDeviceModel): void;
  removeDeviceModel(namespace: string, name: string): void;
  /** the mapper's view of a device (spec and twins), undefined when it has no such device */
  getDevice(namespace: string, name: string): PbDevice | undefined;
}

export interface MapperLinkOptions {
  /** edgecore's DMI socket */
  edgecoreSocket: string;
  /** this mapper's own DeviceMapperService socket */
  socketPath: string;
  name: string;
  protocol: string;
  version?: string;
  handlers: MapperHandlers;
  maxMessageBytes?: number;
  callTimeoutMs?: number;
}

export class MapperLink {
  readonly #options: MapperLinkOptions;
  readonly #server: Server;
  readonly #client: Client;
  #unlink: (() => void) | undefined;

  constructor(options: MapperLinkOptions) {
    this.#options = options;
    const limit = options.maxMessageBytes ?? 1024 * 1024;
    const channel = { 'grpc.max_receive_message_length': limit, 'grpc.max_send_message_length': limit };
    this.#server = new Server(channel);
    const h = options.handlers;
    this.#server.addService(deviceMapperService, {
      RegisterDevice: unary(async (r: { device: PbDevice | null }) => {
        const device = required(r.device, 'device');
        await h.registerDevice(device);
        return { deviceName: device.name, deviceNamespace: device.namespace };
      }),
      UpdateDevice: unary(async (r: { device: PbDevice | null }) => {
        await h.updateDevice(required(r.device, 'device'));
        return {};
      }),
      RemoveDevice: unary(async (r: { deviceName: string; deviceNamespace: string }) => {
        await h.removeDevice(checkName(r.deviceNamespace, 'deviceNamespace', true) || 'default', checkName(r.deviceName, 'deviceName'));
        return {};
      }),
      CreateDeviceModel: unary((r: { model: PbDeviceModel | null }) => {
        const model = required(r.model, 'model');
        h.createDeviceModel(model);
        return { deviceModelName: model.name, deviceModelNamespace: model.namespace };
      }),
      UpdateDeviceModel: unary((r: { model: PbDeviceModel | null }) => {
        h.updateDeviceModel(required(r.model, 'model'));
        return {};
      }),
      RemoveDeviceModel: unary((r: { modelName: string; modelNamespace: string }) => {
        h.removeDeviceModel(checkName(r.modelNamespace, 'modelNamespace', true) || 'default', checkName(r.modelName, 'modelName'));
        return {};
      }),
      GetDevice: unary((r: { deviceName: string; deviceNamespace: string }) => {
        const namespace = checkName(r.deviceNamespace, 'deviceNamespace', true) || 'default';
        const device = h.getDevice(namespace, checkName(r.deviceName, 'deviceName'));
        if (device === undefined) throw new DmiError('NOT_FOUND', `this mapper has no device ${namespace}/${r.deviceName}`, 'deviceName');
        return { device };
      }),
    } as UntypedServiceImplementation);
    this.#client = new Client(`unix://${options.edgecoreSocket}`, credentials.createInsecure(), channel);
  }

  /** Binds the mapper's socket (owner-only), then registers; the answer holds the devices and models to run. */
  async start(): Promise<PbMapperRegisterResponse> {
    this.#unlink = await bindUnixSocket(this.#server, this.#options.socketPath, { field: '--socket' });
    return this.register();
  }

  /** MapperRegister with withData: edgecore answers with every device of this protocol (a full resync). */
  register(): Promise<PbMapperRegisterResponse> {
    const { name, protocol, version = '0.1.0', socketPath } = this.#options;
    return this.#call<PbMapperRegisterResponse>('MapperRegister', {
      withData: true,
      mapper: { name, version, api_version: 'v1beta1', protocol, address: Buffer.from(socketPath), state: 'ok' },
    });
  }

  /** ReportDeviceStatus: reported values (strings in the property's type), as KubeEdge's mappers send them. */
  async reportStatus(namespace: string, name: string, reported: Record<string, string>): Promise<void> {
    const twins = Object.entries(reported).map(([propertyName, value]) => ({ propertyName, reported: { value, metadata: {} } }));
    await this.#call('ReportDeviceStatus', { deviceName: name, deviceNamespace: namespace, reportedDevice: { twins } });
  }

  /** ReportDeviceStates: `online`, `offline` (mapper-framework also says ok, disconnected, unhealthy, unknown). */
  async reportState(namespace: string, name: string, state: string): Promise<void> {
    await this.#call('ReportDeviceStates', { deviceName: name, deviceNamespace: namespace, state });
  }

  async stop(): Promise<void> {
    this.#client.close();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    this.#unlink?.();
  }

  #call<Response>(method: string, request: object): Promise<Response> {
    const definition = deviceManagerService[method] as MethodDefinition<object, Response>;
    return new Promise<Response>((resolve, reject) => {
      this.#client.makeUnaryRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, request, new Metadata(), { deadline: Date.now() + (this.#options.callTimeoutMs ?? 10_000) }, (error: ServiceError | null, response?: Response) => {
        if (error) reject(error);
        else resolve(response as Response);
      });
    });
  }
}

function required<T>(value: T | null | undefined, field: string): T {
  if (value === null || value === undefined) throw new DmiError('INVALID_ARGUMENT', 'is missing', field);
  return value;
}

function unary<Request>(handler: (request: Request) => object | Promise<object>) {
  return (call: ServerUnaryCall<Request, object>, callback: sendUnaryData<object>): void => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          const refusal = error instanceof DmiError ? error : new DmiError('INTERNAL', (error as Error).message ?? String(error));
          callback({ code: refusal.grpcStatus, details: refusal.message });
        },
      );
  };
}
