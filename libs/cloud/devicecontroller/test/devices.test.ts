// DeviceController against the real embedded API server, a real CloudHub, kubectl and simulated edges.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, EdgeRequestError, createTestPki, waitFor, type TestPki } from '@kedge/testkit';
import { MODEL_YAML, deviceYaml, lastMembership, startDeviceCloud } from './fixtures/cloud';

let pki: TestPki;
const cleanup = new Cleanup();
beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

const names = (edge: Parameters<typeof lastMembership>[0]) => lastMembership(edge)?.devices.map((d) => d.name) ?? [];

const report = (value: string) => ({
  namespace: 'default',
  name: 'thermo-1',
  state: 'online',
  last_online: '2026-01-01T00:00:00Z',
  twin: {
    temperature: { actual: { value, typed_value: Number(value), metadata: { timestamp: 1 } }, metadata: { type: 'float' }, version: 2 },
  },
});

describe('devicecontroller crds - install', () => {
  it('installs the CRDs and kubectl apply of a DeviceModel and a Device works', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const crds = await cloud.kubectl(['get', 'crd', '-o', 'name']);
    expect(crds).toContain('devices.devices.kubeedge.io');
    expect(crds).toContain('devicemodels.devices.kubeedge.io');
    await cloud.kubectl(['apply'], MODEL_YAML);
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    expect(await cloud.kubectl(['get', 'device', 'thermo-1', '-o', 'jsonpath={.spec.nodeName}'])).toBe('gw-a');
  });

  it('the schema refuses an unknown property type', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    await expect(cloud.kubectl(['apply'], MODEL_YAML.replace('type: INT', 'type: STREAMX'))).rejects.toThrow();
  });
});

describe('devicecontroller membership - down', () => {
  it('membership reaches the bound node only, with the model properties and desired values', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    const b = await cloud.edge('gw-b');
    await cloud.kubectl(['apply'], MODEL_YAML);
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    await waitFor(() => names(a).includes('thermo-1'), 'gw-a to get thermo-1');
    const device = lastMembership(a)?.devices[0];
    expect(device?.model.properties.map((p) => p.name)).toEqual(['temperature', 'setpoint']);
    expect(device?.properties).toEqual([{ name: 'setpoint', desired: { value: '21', metadata: {} } }]);
    expect(names(b)).toEqual([]);
  });

  it('a node gets its membership on connect', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    await cloud.kubectl(['apply'], MODEL_YAML);
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    const a = await cloud.edge('gw-a');
    await waitFor(() => names(a).includes('thermo-1'), 'gw-a to get thermo-1 on connect');
  });

  it('moving a device updates both nodes, and desired changes go down', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    const b = await cloud.edge('gw-b');
    await cloud.kubectl(['apply'], MODEL_YAML);
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    await waitFor(() => names(a).includes('thermo-1'), 'gw-a to get thermo-1');
    const before = BigInt(lastMembership(a)?.resourceVersion ?? '0');
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-b', '25'));
    await waitFor(() => names(b).includes('thermo-1') && names(a).length === 0, 'thermo-1 to move to gw-b');
    expect(BigInt(lastMembership(a)?.resourceVersion ?? '0')).toBeGreaterThan(before);
    expect(lastMembership(b)?.devices[0]?.properties[0]?.desired.value).toBe('25');
    await cloud.kubectl(['patch', 'device', 'thermo-1', '--type=json', '-p', '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"27"}]']);
    await waitFor(() => lastMembership(b)?.devices[0]?.properties[0]?.desired.value === '27', 'the new desired value on gw-b');
  });
});

describe('devicecontroller membership - lifecycle', () => {
  it('a device waits for its model, and a deleted device leaves the membership', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    await cloud.kubectl(['apply'], deviceYaml('thermo-2', 'gw-a'));
    await waitFor(() => lastMembership(a) !== undefined, 'a first list');
    expect(names(a)).toEqual([]);
    await cloud.kubectl(['apply'], MODEL_YAML);
    await waitFor(() => names(a).join() === 'thermo-1,thermo-2', 'both devices once the model exists');
    await cloud.kubectl(['delete', 'device', 'thermo-1']);
    await waitFor(() => names(a).join() === 'thermo-2', 'thermo-1 gone');
  });
});

describe('devicecontroller twin - up', () => {
  it('a twin report from the bound node appears in Device.status', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const a = await cloud.edge('gw-a');
    await cloud.kubectl(['apply'], MODEL_YAML);
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    await waitFor(() => names(a).includes('thermo-1'), 'gw-a to get thermo-1');
    const reply = await a.request('update', 'default/twin/thermo-1', report('21.5'), 'twin');
    expect(reply.content).toBe('OK');
    const twins = JSON.parse(await cloud.kubectl(['get', 'device', 'thermo-1', '-o', 'jsonpath={.status.twins}'])) as unknown[];
    expect(twins).toEqual([
      { propertyName: 'setpoint', observedDesired: { value: '21', metadata: {} } },
      { propertyName: 'temperature', reported: { value: '21.5', metadata: { type: 'float', timestamp: '1' } } },
    ]);
    expect(await cloud.kubectl(['get', 'device', 'thermo-1', '-o', 'jsonpath={.status.state}'])).toBe('online');
  });

  it('a report for a device of another node is refused', async () => {
    const cloud = await startDeviceCloud(pki, cleanup);
    const b = await cloud.edge('gw-b');
    await cloud.kubectl(['apply'], MODEL_YAML);
    await cloud.kubectl(['apply'], deviceYaml('thermo-1', 'gw-a'));
    await waitFor(async () => (await cloud.kubectl(['get', 'device', '-o', 'name'])).includes('thermo-1'), 'the device');
    const refused = await b.request('update', 'default/twin/thermo-1', report('99'), 'twin').then(
      () => 'accepted',
      (error: unknown) => (error instanceof EdgeRequestError ? String(error.reply.content) : String(error)),
    );
    expect(refused).toMatch(/^(not-bound|not-found)/);
    expect(await cloud.kubectl(['get', 'device', 'thermo-1', '-o', 'jsonpath={.status.twins}'])).toBe('');
  });
});
