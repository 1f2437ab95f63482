// The OPC UA driver against a real node-opcua-server on a loopback port: values by monitored items, writes of
// ReadWrite properties from twin deltas, a server restart, a wrong password, bad configs.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deviceTopic } from '@kedge/device-api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cleanup, waitFor } from '@kedge/testkit';
import type { MapperError} from '../src/index';
import { DeviceRunner, MapperMetrics, type Device } from '../src/index';
import { OpcUaDriver } from '../src/opcua/driver';
import { createMetricsRegistry } from '@kedge/telemetry';
import { OPCUA_USER, createUserCertificate, removePki, startOpcUaServer } from '@kedge/opcua-fixture';
import { connectClient, device, freePort, model, startBroker } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
// the client PKI of every driver here: a folder of this file's own, removed with it (never a shared /tmp one)
const clientPki = mkdtempSync(path.join(tmpdir(), 'kedge-opcua-client-'));
afterAll(() => {
  removePki();
  rmSync(clientPki, { recursive: true, force: true });
});

const plcModel = model('plc', [
  { name: 'temperature', type: 'double', accessMode: 'ReadOnly' },
  { name: 'switch', type: 'boolean', accessMode: 'ReadWrite' },
  { name: 'setpoint', type: 'int', accessMode: 'ReadWrite', minimum: 0, maximum: 100 },
  { name: 'label', type: 'string', accessMode: 'ReadOnly' },
]);

function plc(url: string, extra: Record<string, unknown> = {}): Device {
  const visitor = (nodeID: string, more: Record<string, unknown> = {}) => ({ protocolName: 'opcua', configData: { nodeID, ...more } });
  return device('plc-1', 'plc', { protocolName: 'opcua', configData: { url, ...OPCUA_USER, ...extra } }, [
    { name: 'temperature', visitors: visitor('ns=1;s=Temperature'), collectCycle: 100, reportCycle: 100 },
    { name: 'switch', visitors: visitor('ns=1;s=Switch'), collectCycle: 100, reportCycle: 100 },
    // polled, not monitored: both paths are exercised
    { name: 'setpoint', visitors: visitor('ns=1;s=Setpoint', { subscribe: false }), collectCycle: 100, reportCycle: 100 },
    { name: 'label', visitors: visitor('ns=1;s=Label'), collectCycle: 100, reportCycle: 100 },
  ]);
}

/** the real driver, counting reads per property (to tell monitored items from polling) */
class CountingDriver extends OpcUaDriver {
  readonly reads = new Map<string, number>();
  override read(visitor: Parameters<OpcUaDriver['read']>[0]) {
    this.reads.set(visitor.property.name, (this.reads.get(visitor.property.name) ?? 0) + 1);
    return super.read(visitor);
  }
}

async function runPlc(url: string, extra: Record<string, unknown> = {}) {
  const broker = await startBroker();
  cleanup.add(() => broker.stop());
  const client = await connectClient(broker.url);
  cleanup.add(() => client.endAsync(true));
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const spec = plc(url, extra);
  const driver = new CountingDriver(spec.spec.protocol.configData, 'default/plc-1', { pkiDir: clientPki });
  const runner = new DeviceRunner({ device: spec, model: plcModel, driver, mqtt: client, backoff: { initialMs: 100, maxMs: 500 }, metrics: new MapperMetrics(registry) });
  const faults: MapperError[] = [];
  runner.on('fault', (e) => faults.push(e));
  cleanup.add(() => runner.stop());
  await runner.start();
  return { runner, client, faults, registry, driver };
}

describe('OPC UA driver', () => {
  it('opcua - reads by subscription and polling, converts variants to the model types', async () => {
    const server = await startOpcUaServer(await freePort(), { Temperature: 21.5, Setpoint: 42 });
    cleanup.add(() => server.stop());
    const { runner, driver } = await runPlc(server.url);
    await waitFor(() => runner.state === 'online' && runner.values.temperature === 21.5 && runner.values.setpoint === 42, 'first values', { timeoutMs: 30_000 });
    expect(runner.values).toMatchObject({ switch: false, label: 'line-1' });
    // the server changes values as a PLC would: the monitored item brings them without a read
    server.set('Temperature', 23.25);
    server.set('Label', 'line-2');
    server.set('Setpoint', 7);
    await waitFor(() => runner.values.temperature === 23.25 && runner.values.label === 'line-2' && runner.values.setpoint === 7, 'changed values', { timeoutMs: 30_000 });
    // monitored properties were never read; `subscribe: false` was polled
    expect(driver.reads.get('temperature')).toBeUndefined();
    expect(driver.reads.get('label')).toBeUndefined();
    expect(driver.reads.get('setpoint')).toBeGreaterThan(1);
  });

  it('opcua - SignAndEncrypt with Basic256Sha256 and a user login', async () => {
    const server = await startOpcUaServer(await freePort(), { Temperature: 5.5 });
    cleanup.add(() => server.stop());
    const pkiDir = mkdtempSync(path.join(tmpdir(), 'kedge-opcua-client-'));
    cleanup.add(() => rmSync(pkiDir, { recursive: true, force: true }));
    const { runner } = await runPlc(server.url, { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', pkiDir });
    await waitFor(() => runner.state === 'online' && runner.values.temperature === 5.5, 'values over an encrypted channel', { timeoutMs: 45_000 });
  });

  it('attack - opcua: a server presenting another certificate than remoteCertificate gets no credentials', async () => {
    const trusted = await startOpcUaServer(await freePort(), {}, 'trusted-plc');
    cleanup.add(() => trusted.stop());
    const impostor = await startOpcUaServer(await freePort(), { Temperature: 666 }, 'impostor');
    cleanup.add(() => impostor.stop());
    const secure = { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', remoteCertificate: trusted.certificateFile };
    // the pinned server itself is accepted
    const good = await runPlc(trusted.url, secure);
    await waitFor(() => good.runner.state === 'online' && good.runner.values.temperature === 21.5, 'pinned server accepted', { timeoutMs: 45_000 });
    // the same Device pointed at an impostor: refused before the session (and its password) is sent
    const bad = await runPlc(impostor.url, secure);
    await waitFor(() => bad.faults.some((f) => f.code === 'AUTH_FAILED' && f.field === 'protocol.configData.remoteCertificate'), 'impostor refused', { timeoutMs: 45_000 });
    expect(bad.runner.state).toBe('offline');
    expect(bad.runner.values.temperature).toBeUndefined();
    expect(bad.driver.reads.size).toBe(0);
    // None checks no certificate, so pinning with None is a config error
    expect(() => new OpcUaDriver({ url: trusted.url, remoteCertificate: trusted.certificateFile }, 'default/x')).toThrow(/Sign or SignAndEncrypt/);
  });

  it('opcua - a twin delta writes ReadWrite properties in the node\'s DataType; ReadOnly is refused', async () => {
    const server = await startOpcUaServer(await freePort());
    cleanup.add(() => server.stop());
    const { runner, client, faults } = await runPlc(server.url);
    await waitFor(() => runner.state === 'online' && runner.values.setpoint !== undefined, 'online', { timeoutMs: 30_000 });
    await client.publishAsync(deviceTopic('default/plc-1', 'twin/update/delta'), JSON.stringify({ delta: { switch: 'true', setpoint: '55', temperature: '99' } }));
    await waitFor(() => server.get('Switch') === true && server.get('Setpoint') === 55, 'written on the server', { timeoutMs: 30_000 });
    await waitFor(() => runner.values.switch === true && runner.values.setpoint === 55, 'read back', { timeoutMs: 30_000 });
    expect(server.get('Temperature')).not.toBe(99);
    await waitFor(() => faults.some((f) => f.code === 'NOT_WRITABLE' && f.property === 'temperature'), 'ReadOnly refused');
    // out of the model's range: refused before it reaches the server
    await client.publishAsync(deviceTopic('default/plc-1', 'twin/update/delta'), JSON.stringify({ delta: { setpoint: '500' } }));
    await waitFor(() => faults.some((f) => f.code === 'VALUE_OUT_OF_RANGE' && f.property === 'setpoint'), 'range refused');
    expect(server.get('Setpoint')).toBe(55);
  });

  it('opcua - after a server restart on the same port the device comes back online and values resume', async () => {
    const port = await freePort();
    let server = await startOpcUaServer(port, { Temperature: 1 });
    const states: string[] = [];
    const { runner } = await runPlc(server.url);
    runner.on('state', (s) => states.push(s));
    cleanup.add(() => server.stop());
    await waitFor(() => runner.values.temperature === 1, 'first value', { timeoutMs: 30_000 });
    await server.stop();
    await waitFor(() => runner.state === 'offline', 'offline after the server stopped', { timeoutMs: 30_000 });
    server = await startOpcUaServer(port, { Temperature: 2 });
    await waitFor(() => runner.state === 'online' && runner.values.temperature === 2, 'values from the restarted server', { timeoutMs: 45_000 });
    server.set('Temperature', 3);
    await waitFor(() => runner.values.temperature === 3, 'monitored item on the new session', { timeoutMs: 30_000 });
    expect(states).toEqual(expect.arrayContaining(['offline', 'online']));
  });

  it('attack - opcua: a wrong password is refused with AUTH_FAILED naming the device and field, counted, no crash', async () => {
    const server = await startOpcUaServer(await freePort());
    cleanup.add(() => server.stop());
    const { runner, faults, registry } = await runPlc(server.url, { password: 'wrong' });
    await waitFor(() => faults.some((f) => f.code === 'AUTH_FAILED'), 'AUTH_FAILED', { timeoutMs: 30_000 });
    const fault = faults.find((f) => f.code === 'AUTH_FAILED') as MapperError;
    expect(fault.device).toBe('default/plc-1');
    expect(fault.field).toBe('protocol.configData.password');
    expect(fault.message).toContain('user operator');
    expect(fault.message).not.toContain('wrong');
    expect(runner.state).toBe('offline');
    expect(runner.values.temperature).toBeUndefined();
    const counted = (await registry.getSingleMetric('kedge_mapper_faults_total')?.get())?.values.find((v) => v.labels.code === 'AUTH_FAILED')?.value ?? 0;
    expect(counted).toBeGreaterThanOrEqual(1);
  });

  it('opcua - bad configs are refused up front naming the field', () => {
    const bad = (config: Record<string, unknown>) => {
      try {
        new OpcUaDriver(config, 'default/x');
      } catch (error) {
        return (error as MapperError).field;
      }
      return 'accepted';
    };
    expect(bad({})).toBe('protocol.configData.url');
    expect(bad({ url: 'http://x' })).toBe('protocol.configData.url');
    expect(bad({ url: 'opc.tcp://h:4840', securityMode: 'Loud' })).toBe('protocol.configData.securityMode');
    expect(bad({ url: 'opc.tcp://h:4840', securityMode: 'Sign' })).toBe('protocol.configData.securityPolicy');
    expect(bad({ url: 'opc.tcp://h:4840', userName: 'u' })).toBe('protocol.configData.password');
    expect(bad({ url: 'opc.tcp://h:4840', certificate: '/nonexistent.pem', privateKey: '/nonexistent.key' })).toBe('protocol.configData.certificate');
    expect(bad({ url: 'opc.tcp://h:4840', securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' })).toBe('accepted');
    const driver = new OpcUaDriver({ url: 'opc.tcp://h:4840' }, 'default/x');
    const visitor = (configData: Record<string, unknown>) => ({ device: 'default/x', property: plcModel.spec.properties[0]!, protocolName: 'opcua', configData });
    expect(() => driver.validate(visitor({}))).toThrow(/nodeID is missing/);
    expect(() => driver.validate(visitor({ nodeID: 'Temperature' }))).toThrow(/not an OPC UA node id/);
    expect(() => driver.validate(visitor({ nodeID: 'ns=1,i=1005' }))).not.toThrow();
  });
});

describe('opcua - loading', () => {
  it('importing @kedge/mappers does not load node-opcua (a gateway without OPC UA devices does not pay its ~60 MiB)', async () => {
    const { spawnSync } = await import('node:child_process');
    const probe = [
      "const { createRequire } = await import('node:module');",
      "await import('@kedge/mappers');",
      "const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('node-opcua'));",
      'console.log(JSON.stringify({ loaded }));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8', cwd: process.cwd() });
    expect(result.status, result.stderr).toBe(0);
    const line = result.stdout.split('\n').find((l) => l.startsWith('{"loaded"'));
    expect(line, result.stdout).toBeDefined();
    expect(JSON.parse(line ?? '{}')).toEqual({ loaded: false });
  });
});

describe('opcua - client PKI folder', () => {
  it('attack - a PKI folder others can write (a pre-created /tmp folder) is refused before any key is written or read', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'kedge-opcua-open-'));
    try {
      chmodSync(folder, 0o777);
      const driver = new OpcUaDriver({ url: 'opc.tcp://127.0.0.1:1', pkiDir: folder }, 'default/x');
      await expect(driver.connect()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/pkiDir: .* must be a directory owned by this user with mode 0700 \(it is 777/) });
      await driver.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('opcua - X.509 user identity', () => {
  const noLogin = { userName: '', password: '' };

  it('opcua - a session activated with a user certificate the server trusts; another certificate is refused naming userCertificate', async () => {
    const [good, other] = [await createUserCertificate('line-operator'), await createUserCertificate('stranger')];
    const server = await startOpcUaServer(await freePort(), { Temperature: 7.25 }, 'x509-plc', { trustedUserCertificates: [good.certificateDer] });
    cleanup.add(() => server.stop());
    const secure = { securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256' };
    const ok = await runPlc(server.url, { ...noLogin, ...secure, userCertificate: good.certificateFile, userPrivateKey: good.privateKeyFile });
    await waitFor(() => ok.runner.state === 'online' && ok.runner.values.temperature === 7.25, 'values as the certificate user', { timeoutMs: 45_000 });

    const refused = await runPlc(server.url, { ...noLogin, ...secure, userCertificate: other.certificateFile, userPrivateKey: other.privateKeyFile });
    await waitFor(() => refused.faults.some((f) => f.code === 'AUTH_FAILED'), 'AUTH_FAILED for the untrusted certificate', { timeoutMs: 45_000 });
    const fault = refused.faults.find((f) => f.code === 'AUTH_FAILED');
    expect(fault?.field).toBe('protocol.configData.userCertificate');
    expect(fault?.message).toContain(other.certificateFile);
    expect(refused.runner.state).not.toBe('online');
  });

  it('attack - opcua: a user private key readable by others, a relative or .. path, or a certificate without its key is refused naming the field', async () => {
    const user = await createUserCertificate('careless');
    const open = path.join(clientPki, 'open.key');
    writeFileSync(open, readFileSync(user.privateKeyFile));
    chmodSync(open, 0o644);
    const base = { url: 'opc.tcp://127.0.0.1:1', userCertificate: user.certificateFile };
    expect(() => new OpcUaDriver({ ...base, userPrivateKey: open }, 'default/x')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'protocol.configData.userPrivateKey', message: expect.stringMatching(/must be owned by this user with mode 0600 \(it is 644/) }),
    );
    expect(() => new OpcUaDriver({ ...base, userPrivateKey: `${path.dirname(user.privateKeyFile)}/../${path.basename(path.dirname(user.privateKeyFile))}/careless.key` }, 'default/x')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', field: 'protocol.configData.userPrivateKey', message: expect.stringMatching(/without \.\. segments/) }),
    );
    expect(() => new OpcUaDriver({ ...base, userPrivateKey: 'careless.key' }, 'default/x')).toThrow(expect.objectContaining({ field: 'protocol.configData.userPrivateKey' }));
    expect(() => new OpcUaDriver(base, 'default/x')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'protocol.configData.userPrivateKey' }));
    expect(() => new OpcUaDriver({ ...base, userPrivateKey: user.privateKeyFile, ...OPCUA_USER }, 'default/x')).toThrow(expect.objectContaining({ field: 'protocol.configData.userCertificate' }));
    // the same key at mode 0600 is accepted
    chmodSync(open, 0o600);
    expect(new OpcUaDriver({ ...base, userPrivateKey: open }, 'default/x').config.userIdentity?.certificateFile).toBe(user.certificateFile);
  });
});
