// Child process for the kill -9 test: a real EventBus (embedded aedes on 127.0.0.1:0), TwinStore and
// DeviceTwin on the given file, with `devices` sensors bound. Prints {"port": <broker port>} once ready,
// then serves until it is killed.
import { EventBus } from '@kedge/eventbus';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { Registry } from 'prom-client';
import { DeviceTwin, TwinStore, type DeviceSpec } from '../../src/index';

const [file, devicesArgument] = process.argv.slice(2);
if (file === undefined || devicesArgument === undefined) throw new Error('usage: twin-edge <file> <devices>');
const logger = createLogger({ name: 'twin-edge', level: 'silent' });
const registry = new Registry();
const bus = new EventBus({ nodeName: 'gw-crash', logger, registry, internal: { port: 0 } });
await bus.start();
const store = new TwinStore({ file, registry });
const specs: DeviceSpec[] = Array.from({ length: Number(devicesArgument) }, (_, i) => ({
  namespace: 'default',
  name: `sensor-${i}`,
  resourceVersion: 1n,
  description: '',
  model: 'counter',
  properties: [{ name: 'count', type: 'int', accessMode: 'ReadOnly' }],
  attributes: {},
  desired: new Map(),
}));
store.applyMembership(1n, specs);
await store.whenDurable();
const router = new MessageRouter();
new DeviceTwin({ store, bus, router, reporter: { report: () => 1 }, nodeName: 'gw-crash', logger, registry });
process.stdout.write(`${JSON.stringify({ port: bus.internalAddress?.port })}\n`);
// a test runner that dies leaves no orphan behind
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();
