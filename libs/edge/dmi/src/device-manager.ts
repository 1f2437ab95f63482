// DeviceManager: edgecore's side of DMI. It serves DeviceManagerService on an owner-only unix socket:
// MapperRegister (a mapper announces its protocol and its own socket and gets the member devices and
// models of that protocol), ReportDeviceStatus and ReportDeviceStates (into the DeviceTwin, exactly as a
// mapper's MQTT reports). It follows the twin's membership and tells each registered mapper what changed
// through its DeviceMapperService. Registrations and member devices are kept in a 0600 file, so mappers
// keep being served after an edgecore restart before the cloud resends anything.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { Server, status, type MethodDefinition, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { DevicesChangedEvent, DeviceTwin } from '@kedge/devicetwin';
import { DeviceTwinError } from '@kedge/devicetwin';
import { isRecord } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { checkName, dmiDeviceId, protocolOf, toPbDevice, toPbModel } from './device-convert';
import { DmiError, shown } from './errors';
import { MapperConnection, type MapperRegistration, type WantedDevice } from './mapper-connection';
import { DmiMetrics } from './metrics';
import { bindUnixSocket } from './unix-socket';
import { deviceManagerService, type PbDevice, type PbMapperRegisterRequest, type PbMapperRegisterResponse, type PbReportDeviceStatesRequest, type PbReportDeviceStatusRequest } from './wire';

export interface DeviceManagerOptions {
  twin: Pick<DeviceTwin, 'devices' | 'onDevicesChanged' | 'applyReport'>;
  /** where DeviceManagerService listens, e.g. <dataDir>/dmi.sock (upstream: /etc/kubeedge/dmi.sock) */
  socketPath: string;
  /** 0o600 (default) or 0o660 to let the socket's group's mappers in */
  socketMode?: 0o600 | 0o660;
  /** registrations and member Device objects across restarts, e.g. <dataDir>/dmi.json (0600: configData may hold credentials) */
  stateFile: string;
  logger: Logger;
  registry: Registry;
  /** largest message either way (default 1 MiB) */
  maxMessageBytes?: number;
  /** deadline of a call on a mapper (default 10 s) */
  callTimeoutMs?: number;
}

/** mapper-framework's device states → the twin's (online, offline, unknown) */
const STATES: Record<string, 'online' | 'offline' | 'unknown'> = { ok: 'online', online: 'online', offline: 'offline', disconnected: 'offline', unhealthy: 'offline', unknown: 'unknown' };
const PROTOCOL = /^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/;
const MAX_TWINS = 256;

export class DeviceManager {
  readonly #options: DeviceManagerOptions;
  readonly #metrics: DmiMetrics;
  readonly #server: Server;
  /** member devices of every protocol: the cloud's membership entries */
  readonly #sources = new Map<string, Record<string, unknown>>();
  /** registered mappers by protocol */
  readonly #mappers = new Map<string, MapperConnection>();
  readonly #listeners = new Set<() => void>();
  #unlink: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: DeviceManagerOptions) {
    this.#options = options;
    this.#metrics = new DmiMetrics(options.registry);
    const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
    this.#server = new Server({ 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes });
    this.#server.addService(this.#countingMalformed(), {
      MapperRegister: this.#unary('MapperRegister', (request: PbMapperRegisterRequest) => this.#register(request)),
      ReportDeviceStatus: this.#unary('ReportDeviceStatus', (request: PbReportDeviceStatusRequest) => this.#reportStatus(request)),
      ReportDeviceStates: this.#unary('ReportDeviceStates', (request: PbReportDeviceStatesRequest) => this.#reportStates(request)),
    } as UntypedServiceImplementation);
  }

  async start(): Promise<void> {
    this.#load();
    this.#unsubscribe = this.#options.twin.onDevicesChanged((event) => this.#onDevicesChanged(event));
    this.#unlink = await bindUnixSocket(this.#server, this.#options.socketPath, { mode: this.#options.socketMode ?? 0o600, field: 'deviceTwin.dmiSockPath' });
    this.#options.logger.info({ socket: this.#options.socketPath, mappers: [...this.#mappers.keys()] }, 'DMI DeviceManagerService listening');
    for (const mapper of this.#mappers.values()) void mapper.sync(this.#wanted(mapper.registration.protocol));
  }

  /** Protocols a DMI mapper is registered for: edgecore's own mappers leave these devices alone. */
  protocols(): string[] {
    return [...this.#mappers.keys()].sort();
  }

  /** Called when a mapper registers (the set of protocols may have changed). @returns unsubscribe */
  onMappersChanged(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Resolves when every mapper has been told the changes seen so far. */
  async settled(): Promise<void> {
    await Promise.all([...this.#mappers.values()].map((mapper) => mapper.sync(this.#wanted(mapper.registration.protocol))));
  }

  /** GetDevice on the mapper serving the device: the mapper's own view (spec and twins). @throws DmiError */
  async getDevice(namespace: string, name: string): Promise<PbDevice> {
    const id = dmiDeviceId(namespace, name);
    const source = this.#sources.get(id);
    if (source === undefined) throw new DmiError('NOT_FOUND', `device ${id} is not bound to this node`, 'deviceName');
    const mapper = this.#mappers.get(protocolOf(source) ?? '');
    if (mapper === undefined) throw new DmiError('UNAVAILABLE', `no DMI mapper is registered for protocol ${shown(protocolOf(source))}`, 'protocol');
    const response = await mapper.call<{ device: PbDevice | null }>('GetDevice', { deviceName: name, deviceNamespace: namespace });
    if (response.device === null) throw new DmiError('NOT_FOUND', `mapper ${mapper.registration.name} does not have device ${id}`, 'device');
    return response.device;
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    for (const mapper of this.#mappers.values()) mapper.close();
    await new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    this.#unlink?.();
  }

  /** The member devices of a protocol, as DMI objects; a device whose configData cannot be encoded is left out (logged). */
  #wanted(protocol: string): WantedDevice[] {
    const wanted: WantedDevice[] = [];
    for (const [id, source] of this.#sources) {
      if (protocolOf(source) !== protocol) continue;
      try {
        wanted.push({ id, device: toPbDevice(source), model: toPbModel(source) });
      } catch (error) {
        this.#options.logger.warn({ device: id, error: (error as Error).message }, 'cannot send this device over DMI');
      }
    }
    return wanted;
  }

  #onDevicesChanged(event: DevicesChangedEvent): void {
    for (const change of event.changes) if (change.reason === 'deleted') this.#sources.delete(change.id);
    for (const [id, source] of event.sources) this.#sources.set(id, source);
    const members = new Set(this.#options.twin.devices().map((device) => device.id));
    for (const id of [...this.#sources.keys()]) if (!members.has(id)) this.#sources.delete(id);
    this.#save();
    for (const mapper of this.#mappers.values()) void mapper.sync(this.#wanted(mapper.registration.protocol));
  }

  #register(request: PbMapperRegisterRequest): PbMapperRegisterResponse {
    const info = request.mapper;
    if (info === null) throw new DmiError('INVALID_ARGUMENT', 'is missing', 'mapper');
    const name = info.name;
    if (name === '' || name.length > 253) throw new DmiError('INVALID_ARGUMENT', `must be a name of 1..253 characters, got ${shown(name)}`, 'mapper.name');
    if (!PROTOCOL.test(info.protocol)) throw new DmiError('INVALID_ARGUMENT', `must be a protocol name (letters, digits, '-', '_', '.'; at most 63), got ${shown(info.protocol)}`, 'mapper.protocol');
    const address = readAddress(info.address);
    const registration: MapperRegistration = { name, version: info.version.slice(0, 64), protocol: info.protocol, address };
    const mapper = this.#connect(registration);
    this.#save();
    const wanted = this.#wanted(info.protocol);
    this.#options.logger.info({ mapper: name, protocol: info.protocol, address, devices: wanted.length, withData: request.withData }, 'DMI mapper registered');
    for (const listener of this.#listeners) listener();
    if (!request.withData) {
      // upstream answers nothing then; kedge also sends the devices through RegisterDevice
      void mapper.sync(wanted);
      return { modelList: [], deviceList: [] };
    }
    mapper.assumeHas(wanted);
    const models = new Map(wanted.map((w) => [`${w.model.namespace}/${w.model.name}`, w.model]));
    return { modelList: [...models.values()], deviceList: wanted.map((w) => w.device) };
  }

  /** A new registration replaces the protocol's old one (a restarted mapper): the old connection is dropped. */
  #connect(registration: MapperRegistration): MapperConnection {
    this.#mappers.get(registration.protocol)?.close();
    const mapper = new MapperConnection({
      registration,
      logger: this.#options.logger,
      metrics: this.#metrics,
      maxMessageBytes: this.#options.maxMessageBytes ?? 1024 * 1024,
      callTimeoutMs: this.#options.callTimeoutMs ?? 10_000,
    });
    this.#mappers.set(registration.protocol, mapper);
    this.#metrics.mappers.set(this.#mappers.size);
    return mapper;
  }

  async #reportStatus(request: PbReportDeviceStatusRequest): Promise<object> {
    const { namespace, name } = readDevice(request);
    const twins = request.reportedDevice?.twins ?? [];
    if (twins.length === 0) throw new DmiError('INVALID_ARGUMENT', 'names no twin', 'reportedDevice.twins');
    if (twins.length > MAX_TWINS) throw new DmiError('INVALID_ARGUMENT', `names more than ${MAX_TWINS} twins`, 'reportedDevice.twins');
    const body: Record<string, unknown> = {};
    const index = new Map<string, number>();
    twins.forEach((twin, i) => {
      const at = `reportedDevice.twins[${i}]`;
      if (twin.propertyName === '') throw new DmiError('INVALID_ARGUMENT', 'is missing', `${at}.propertyName`);
      if (index.has(twin.propertyName)) throw new DmiError('INVALID_ARGUMENT', `names property ${shown(twin.propertyName)} twice`, `${at}.propertyName`);
      index.set(twin.propertyName, i);
      // observedDesired is what the mapper last wrote; desired values belong to the cloud, so only reported is taken
      if (twin.reported === null) throw new DmiError('INVALID_ARGUMENT', 'is missing', `${at}.reported`);
      body[twin.propertyName] = { actual: { value: twin.reported.value } };
    });
    await this.#applyReport(namespace, name, 'twin/update', { twin: body }, (field) => {
      // twin.<prop>.actual.value → reportedDevice.twins[i].reported.value
      const match = /^twin\.([^.]+)(\.actual(.*))?/.exec(field);
      const at = match ? index.get(match[1] as string) : undefined;
      if (at === undefined) return `reportedDevice.twins (${field})`;
      return match?.[2] === undefined ? `reportedDevice.twins[${at}].propertyName` : `reportedDevice.twins[${at}].reported${match[3] ?? ''}`;
    });
    return {};
  }

  async #reportStates(request: PbReportDeviceStatesRequest): Promise<object> {
    const { namespace, name } = readDevice(request);
    const state = STATES[request.state.toLowerCase()];
    if (state === undefined) throw new DmiError('INVALID_ARGUMENT', `must be one of ${Object.keys(STATES).join(', ')}, got ${shown(request.state)}`, 'state');
    await this.#applyReport(namespace, name, 'state/update', { state }, () => 'state');
    return {};
  }

  async #applyReport(namespace: string, name: string, action: 'twin/update' | 'state/update', body: Record<string, unknown>, fieldOf: (twinField: string) => string): Promise<void> {
    try {
      await this.#options.twin.applyReport(namespace, name, action, body);
    } catch (error) {
      if (!(error instanceof DeviceTwinError)) throw error;
      const code = error.code === 'UNKNOWN_DEVICE' ? 'NOT_FOUND' : error.code === 'VERSION_CONFLICT' ? 'FAILED_PRECONDITION' : error.code === 'INTERNAL' || error.code === 'STORE_CLOSED' ? 'UNAVAILABLE' : 'INVALID_ARGUMENT';
      const field = error.code === 'UNKNOWN_DEVICE' ? 'deviceName' : error.field === undefined ? undefined : fieldOf(error.field);
      throw new DmiError(code, `device ${dmiDeviceId(namespace, name)}: ${error.reason}`, field, { cause: error });
    }
  }

  /** Wraps a handler: refusals become gRPC statuses naming the field, every request is counted, nothing throws out. */
  #unary<Request>(method: string, handler: (request: Request) => object | Promise<object>) {
    return (call: ServerUnaryCall<Request, object>, callback: sendUnaryData<object>): void => {
      Promise.resolve()
        .then(() => handler(call.request))
        .then(
          (response) => {
            this.#metrics.requests.inc({ method, result: 'ok' });
            callback(null, response);
          },
          (error: unknown) => {
            const refusal = error instanceof DmiError ? error : new DmiError('INTERNAL', 'edgecore could not process this request', undefined, { cause: error });
            if (refusal.code === 'INTERNAL') this.#options.logger.error({ error, method }, 'DMI request failed');
            else this.#options.logger.debug({ method, error: refusal.message }, 'refused a DMI request');
            this.#metrics.requests.inc({ method, result: refusal.code });
            callback({ code: refusal.grpcStatus, details: refusal.message });
          },
        );
    };
  }

  /** The service definition with request decoding counted: bytes that are no valid message are refused by grpc-js and counted here. */
  #countingMalformed() {
    const service: Record<string, MethodDefinition<object, object>> = {};
    for (const [method, definition] of Object.entries(deviceManagerService) as [string, MethodDefinition<object, object>][]) {
      service[method] = {
        ...definition,
        requestDeserialize: (bytes: Buffer) => {
          try {
            return definition.requestDeserialize(bytes);
          } catch (error) {
            this.#metrics.malformed.inc({ method });
            this.#metrics.requests.inc({ method, result: status[status.INTERNAL] });
            throw error;
          }
        },
      };
    }
    return service;
  }

  #load(): void {
    const { stateFile, logger } = this.#options;
    try {
      if (!existsSync(stateFile)) return;
      const saved: unknown = JSON.parse(readFileSync(stateFile, 'utf8'));
      if (!isRecord(saved) || !Array.isArray(saved['mappers']) || !Array.isArray(saved['devices'])) throw new Error('is not {mappers: [...], devices: [...]}');
      for (const source of saved['devices'].filter(isRecord)) this.#sources.set(dmiDeviceId(String(source['namespace']), String(source['name'])), source);
      for (const m of saved['mappers'].filter(isRecord)) {
        if (typeof m['name'] === 'string' && typeof m['protocol'] === 'string' && typeof m['address'] === 'string' && isAbsolute(m['address'])) {
          this.#connect({ name: m['name'], version: String(m['version'] ?? ''), protocol: m['protocol'], address: m['address'] });
        }
      }
    } catch (error) {
      logger.warn({ error: (error as Error).message, file: stateFile }, 'cannot read saved DMI state; mappers re-register and the cloud resends devices');
    }
  }

  #save(): void {
    const { stateFile, logger } = this.#options;
    try {
      const temporary = `${stateFile}.tmp`;
      const state = { mappers: [...this.#mappers.values()].map((m) => m.registration), devices: [...this.#sources.values()] };
      writeFileSync(temporary, JSON.stringify(state), { mode: 0o600 });
      renameSync(temporary, stateFile);
    } catch (error) {
      logger.warn({ error: (error as Error).message, file: stateFile }, 'cannot save DMI state');
    }
  }
}

/** The mapper's socket: a path, or unix:// + path, as mapper-framework sends it. @throws DmiError */
function readAddress(bytes: Buffer): string {
  const raw = Buffer.from(bytes).toString('utf8');
  const address = raw.startsWith('unix://') ? raw.slice('unix://'.length) : raw.startsWith('unix:') ? raw.slice('unix:'.length) : raw;
  if (!isAbsolute(address) || Buffer.byteLength(address) > 107 || address.includes('\0')) {
    throw new DmiError('INVALID_ARGUMENT', `must be the absolute path of the mapper's unix socket (at most 107 bytes), got ${shown(raw)}`, 'mapper.address');
  }
  return address;
}

function readDevice(request: { deviceName: string; deviceNamespace: string }): { namespace: string; name: string } {
  const name = checkName(request.deviceName, 'deviceName');
  const namespace = checkName(request.deviceNamespace, 'deviceNamespace', true) || 'default';
  return { namespace, name };
}
