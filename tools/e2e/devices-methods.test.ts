// End-to-end device methods invoked from the cloud: cloudcore (embedded API server) + edgecore running the
// Modbus mapper against modbus-serial's ServerTCP. The real kubectl POSTs the call to cloudcore's HTTPS
// port with a ServiceAccount token (`kubectl create --raw`); RBAC on devices/methods decides who may; the
// register changes and the mapper's result comes back. Unknown method or property, an unauthorized caller,
// and an offline node each get a clear Status naming what is wrong.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requires } from '@kedge/testkit';
import { kubectl, kubectlOk, stopAll, tempDir, waitFor } from './harness';
import { applyManifests, type DeviceNode, device, deviceModel, holdingRegister, manifestText, modbusTcp, reportedValue, startDeviceNode, startModbusServer } from './device-fixtures';

const cleanups: (() => Promise<unknown>)[] = [];

interface World {
  invoke(token: string, method: string, body: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  call(file: string, body: unknown): string;
  operatorToken: string;
  viewerToken: string;
  registers: number[];
  cloud: DeviceNode['cloud'];
  edge: DeviceNode['edge'];
}

const NODE = 'edge-methods';
const PATH = (method: string) => `/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices/boiler-1/methods/${method}`;

const manifests = (port: number): string =>
  manifestText(
    deviceModel('boiler', 'modbus', [
      { name: 'temperature', type: 'INT', accessMode: 'ReadOnly', minimum: '-400', maximum: '1250' },
      { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '5', maximum: '90' },
      { name: 'mode', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '3' },
    ]),
    device('boiler-1', 'boiler', NODE, {
      protocol: modbusTcp(port),
      methods: [
        { name: 'heat', description: 'set the setpoint and mode', propertyNames: ['setpoint', 'mode'] },
        { name: 'readOnlyProbe', propertyNames: ['temperature'] },
      ],
      properties: [
        { name: 'temperature', collectCycle: 200, reportCycle: 200, visitors: holdingRegister(0, 'int16') },
        { name: 'setpoint', collectCycle: 200, reportCycle: 200, visitors: holdingRegister(1, 'uint16') },
        { name: 'mode', collectCycle: 200, reportCycle: 200, visitors: holdingRegister(2, 'uint16') },
      ],
    }),
  );

const needs = await requires('kubectl');

needs.describe('devices - methods invoked from the cloud (kubectl → cloudcore → hub → edge twin → Modbus mapper)', () => {
  let state: World | undefined;
  const world = (): World => {
    if (state === undefined) throw new Error('the cloud, edge and Modbus device did not start (see beforeAll)');
    return state;
  };
  beforeAll(async () => {
    const registers = [215, 20, 0];
    const modbus = await startModbusServer(registers);
    cleanups.push(() => modbus.close());
    const { cloud, edge } = await startDeviceNode(NODE, { maxReconnectDelayMs: 500 });
    await applyManifests(cloud, manifests(modbus.port));
    await waitFor(async () => (await reportedValue(cloud.kubeconfig, 'boiler-1', 'setpoint')) === '20', 'setpoint 20 reported', { timeoutMs: 30_000 });

    // RBAC: operator may create devices/methods, viewer may only read devices
    const admin = { kubeconfig: cloud.kubeconfig };
    await kubectlOk(admin, ['create', 'serviceaccount', 'operator']);
    await kubectlOk(admin, ['create', 'serviceaccount', 'viewer']);
    await kubectlOk(admin, ['create', 'role', 'device-methods', '--verb=create', '--resource=devices.devices.kubeedge.io/methods']);
    await kubectlOk(admin, ['create', 'role', 'device-reader', '--verb=get,list', '--resource=devices.devices.kubeedge.io']);
    await kubectlOk(admin, ['create', 'rolebinding', 'operator-methods', '--role=device-methods', '--serviceaccount=default:operator']);
    await kubectlOk(admin, ['create', 'rolebinding', 'viewer-read', '--role=device-reader', '--serviceaccount=default:viewer']);
    const operatorToken = (await kubectlOk(admin, ['create', 'token', 'operator'])).trim();
    const viewerToken = (await kubectlOk(admin, ['create', 'token', 'viewer'])).trim();

    const dir = tempDir('methods');
    const call = (file: string, body: unknown): string => {
      const path = join(dir, file);
      writeFileSync(path, JSON.stringify(body));
      return path;
    };
    // kubectl against cloudcore's HTTPS port, trusting the cloud CA, with a bearer token
    const invoke = (token: string, method: string, body: string) =>
      kubectl({ server: `https://127.0.0.1:${cloud.ports.https}` }, ['--certificate-authority', join(cloud.dataDir, 'pki', 'ca.crt'), '--token', token, 'create', '--raw', PATH(method), '-f', body]);

    state = { invoke, call, operatorToken, viewerToken, registers, cloud, edge };
  }, 120_000);
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    await stopAll();
  });

  it('a permitted caller writes the registers and gets the result; an unknown method or property is 4xx naming it', async () => {
    const { invoke, call, operatorToken, registers, cloud } = world();
    const ok = await invoke(operatorToken, 'heat', call('heat.json', { values: { setpoint: '42', mode: 2 } }));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout) as { kind: string; node: string; code: number; method: string; results: Record<string, { value?: string }> };
    expect(result).toMatchObject({ kind: 'DeviceMethodResult', node: NODE, method: 'heat', code: 200, results: { setpoint: { value: '42' }, mode: { value: '2' } } });
    expect(registers[1]).toBe(42);
    expect(registers[2]).toBe(2);
    await waitFor(async () => (await reportedValue(cloud.kubeconfig, 'boiler-1', 'setpoint')) === '42', 'setpoint 42 reaches DeviceStatus');

    // unknown method, a property outside the method, a value out of range: 4xx naming it, nothing written
    const unknownMethod = await invoke(operatorToken, 'explode', call('x.json', { values: { setpoint: '50' } }));
    expect(unknownMethod.code).not.toBe(0);
    expect(unknownMethod.stderr).toMatch(/NotFound.*has no method "explode" \(spec\.methods: heat, readOnlyProbe\)/);
    const foreign = await invoke(operatorToken, 'heat', call('f.json', { values: { temperature: '50' } }));
    expect(foreign.stderr).toMatch(/values\.temperature: not one of the method's propertyNames \(setpoint, mode\)/);
    const readOnly = await invoke(operatorToken, 'readOnlyProbe', call('r.json', { values: { temperature: '50' } }));
    expect(readOnly.stderr).toMatch(/values\.temperature: the property is ReadOnly/);
    const outOfRange = await invoke(operatorToken, 'heat', call('o.json', { values: { setpoint: '500' } }));
    expect(outOfRange.stderr).toMatch(/BadRequest.*values\.setpoint/);
    expect(registers[1]).toBe(42);
    expect(registers[0]).toBe(215);

    expect(registers[1]).toBe(42);
  });

  it('attack - a caller without create on devices/methods gets 403, a forged token or none 401, and nothing is written', async () => {
    const { invoke, call, operatorToken, viewerToken, registers, cloud } = world();
    const viewer = await invoke(viewerToken, 'heat', call('v.json', { values: { setpoint: '60' } }));
    expect(viewer.stderr).toMatch(/Forbidden.*User "system:serviceaccount:default:viewer" cannot create resource "devices\/methods"/);
    const forged = await invoke(`${operatorToken.slice(0, -4)}AAAA`, 'heat', call('g.json', { values: { setpoint: '60' } }));
    expect(forged.stderr).toMatch(/Unauthorized/);
    const anonymous = await fetchStatus(cloud.ports.https, PATH('heat'), join(cloud.dataDir, 'pki', 'ca.crt'));
    expect(anonymous).toBe(401);
    expect(registers[1]).toBe(42);

  });

  it('a node that is offline answers 503 naming it, without waiting for the edge', async () => {
    const { invoke, call, operatorToken, registers, edge } = world();
    await edge.process.stop();
    await waitFor(async () => {
      const offline = await invoke(operatorToken, 'heat', call('off.json', { values: { setpoint: '30' } }));
      return /ServiceUnavailable.*node edge-methods of device default\/boiler-1 is not connected/.test(offline.stderr);
    }, 'a 503 naming the offline node', { timeoutMs: 60_000 });
    expect(registers[1]).toBe(42);
  });
});

/** The HTTP status of a POST without credentials (node's https, trusting the cloud CA). */
async function fetchStatus(port: number, path: string, caFile: string): Promise<number> {
  const { request } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', ca: readFileSync(caFile), headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end('{"values":{"setpoint":"60"}}');
  });
}
