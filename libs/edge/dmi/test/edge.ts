// A real edge for DMI tests: DeviceTwin on a TwinStore file and the EventBus's aedes broker on 127.0.0.1:0,
// and the DeviceManager on a unix socket in a fresh folder. Cloud messages go through the router.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import { EventBus } from '@kedge/eventbus';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import type { Cleanup } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { DeviceManager, deviceManagerService } from '../src/index';

export const NODE = 'gw-1';
export const logger = createLogger({ name: 'dmi-test', level: 'silent' });

export interface Edge {
  dir: string;
  socket: string;
  store: TwinStore;
  router: MessageRouter;
  twin: DeviceTwin;
  dmi: DeviceManager;
  registry: Registry;
}

export async function startEdge(cleanup: Cleanup, options: { maxMessageBytes?: number } = {}): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-dmi-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const registry = new Registry();
  const bus = new EventBus({ nodeName: NODE, logger, registry, internal: { port: 0 } });
  await bus.start();
  cleanup.add(() => bus.stop());
  const store = new TwinStore({ file: join(dir, 'devicetwin.db') });
  cleanup.add(() => store.close());
  const router = new MessageRouter({ onHandlerError: (error) => console.error('handler failed', error) });
  cleanup.add(() => router.close());
  const twin = new DeviceTwin({ store, bus, router, reporter: { report: () => 0 }, nodeName: NODE, logger, registry });
  cleanup.add(() => twin.stop());
  const socket = join(dir, 'dmi.sock');
  const dmi = new DeviceManager({ twin, socketPath: socket, stateFile: join(dir, 'dmi.json'), logger, registry, callTimeoutMs: 5000, ...options });
  await dmi.start();
  cleanup.add(() => dmi.stop());
  return { dir, socket, store, router, twin, dmi, registry };
}

/** A member device as the DeviceController sends it: a thermometer with a ReadWrite setpoint. */
export function member(name: string, rv: string, protocol: string, visitors: Record<string, Record<string, unknown>>, configData: Record<string, unknown> = {}, setpoint?: number): Record<string, unknown> {
  return {
    namespace: 'default',
    name,
    resourceVersion: rv,
    description: '',
    model: {
      name: 'thermometer',
      properties: [
        { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', minimum: -40, maximum: 125 },
        { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '30' },
      ],
    },
    attributes: {},
    properties: setpoint === undefined ? [] : [{ name: 'setpoint', desired: { value: String(setpoint), metadata: {} } }],
    protocol: { protocolName: protocol, configData },
    propertyVisitors: Object.entries(visitors).map(([property, config]) => ({ name: property, visitors: { protocolName: protocol, configData: config }, collectCycle: 100, reportCycle: 100 })),
  };
}

export const membership = (devices: Record<string, unknown>[], rv: string): Message =>
  newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `null/membership/${NODE}`, content: { resourceVersion: rv, devices } });

export const reported = (edge: Edge, id: string, property = 'temperature'): unknown => edge.store.device(id)?.twins.find((twin) => twin.name === property)?.reported?.value;

/** A raw gRPC client of edgecore's DeviceManagerService, as a mapper in another language would be. */
export function managerClient(cleanup: Cleanup, socket: string): { call: <R>(method: string, request: object, serialize?: (value: object) => Buffer) => Promise<R> } {
  const client = new Client(`unix://${socket}`, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  cleanup.add(() => client.close());
  return {
    call: <R>(method: string, request: object, serialize?: (value: object) => Buffer) =>
      new Promise<R>((resolve, reject) => {
        const definition = deviceManagerService[method] as MethodDefinition<object, R>;
        client.makeUnaryRequest(definition.path, serialize ?? definition.requestSerialize, definition.responseDeserialize, request, new Metadata(), { deadline: Date.now() + 10_000 }, (error: ServiceError | null, response?: R) =>
          error ? reject(error) : resolve(response as R),
        );
      }),
  };
}
