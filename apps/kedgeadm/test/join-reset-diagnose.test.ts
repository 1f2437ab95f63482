import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRIVATE_CONTAINERD_NEEDS, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { checkClock, checkContainerd, checkDisk, splitHostPort } from '../src/diagnose-checks';
import { readEdgeCoreConfig } from '../src/diagnose-command';
import { joinCommand, parseLabels, type JoinOptions } from '../src/join-command';
import { resetCommand } from '../src/reset-command';
import { KedgeadmUsageError } from '../src/token-command';
import { WrittenFiles } from '../src/written-files';

describe('join helpers', () => {
  it('parses --labels and rejects pairs without "="', () => {
    expect(parseLabels('site=plant-7, zone=a')).toEqual({ site: 'plant-7', zone: 'a' });
    expect(parseLabels(undefined)).toEqual({});
    expect(() => parseLabels('site')).toThrow(KedgeadmUsageError);
  });

  it('refuses flags edgecore would refuse in its config, naming the flag, before contacting the cloud', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    // port 1 on loopback: a join that got as far as the cloud would fail with a connection error instead
    const options: JoinOptions = {
      cloud: '127.0.0.1',
      wsPort: '10000',
      httpsPort: '1',
      quicPort: '10001',
      nodeName: 'gw-1',
      token: 'not-used',
      hubProtocol: 'websocket',
      runtimeEndpoint: 'unix:///run/containerd/containerd.sock',
      prefix,
      dataDir: join(prefix, 'data'),
      edgecoreCommand: '/usr/local/bin/edgecore',
    };
    await expect(joinCommand({ ...options, nodeName: 'Gateway_01' })).rejects.toThrow(/^--node-name \(edgecore\.yaml nodeName\): expected a DNS-1123 name/);
    await expect(joinCommand({ ...options, hubProtocol: 'mqtt' })).rejects.toThrow(/^--hub-protocol \(edgecore\.yaml edgeHub\.protocol\): /);
    await expect(joinCommand({ ...options, webtransportPort: '70000' })).rejects.toThrow(/^--webtransport-port "70000": expected a TCP\/UDP port/);
    // webtransport is a protocol edgecore accepts: that join gets as far as the cloud (nothing on port 1)
    await expect(joinCommand({ ...options, hubProtocol: 'webtransport' })).rejects.not.toThrow(/--hub-protocol/);
    await expect(joinCommand({ ...options, runtimeEndpoint: 'tcp://10.0.0.1:1234' })).rejects.toThrow(
      /^--runtime-endpoint \(edgecore\.yaml edged\.containerRuntimeEndpoint\): expected a unix socket/,
    );
    await expect(joinCommand({ ...options, labels: '-site=plant-7' })).rejects.toThrow(/^--labels \(edgecore\.yaml labels\.-site\): /);
    expect(existsSync(join(prefix, 'edgecore.yaml'))).toBe(false);
  });
});

describe('reset', () => {
  it('removes exactly the recorded files and the directories it created when empty', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    const foreign = join(prefix, 'keep.txt');
    writeFileSync(foreign, 'not ours');
    const written = new WrittenFiles(prefix, 'join');
    written.write(join(prefix, 'a', 'b', 'one.yaml'), 'x');
    written.write(join(prefix, 'two.yaml'), 'y');
    mkdirSync(join(prefix, 'a', 'other'));
    const result = await resetCommand({ prefix });
    expect(result.removed).toEqual(expect.arrayContaining([join(prefix, 'a', 'b', 'one.yaml'), join(prefix, 'two.yaml'), `${join(prefix, 'a', 'b')}/`]));
    expect(existsSync(foreign)).toBe(true);
    expect(existsSync(join(prefix, 'a', 'other'))).toBe(true); // not empty: a/ stays
    await expect(resetCommand({ prefix })).rejects.toThrow(/nothing to reset/);
  });
});

describe('diagnose', () => {
  it('reads edgecore.yaml with edgecore defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, 'nodeName: gw-1\nedgeHub: {server: "10.0.0.5:10000"}\n');
    expect(readEdgeCoreConfig(file)).toMatchObject({
      nodeName: 'gw-1',
      edgeHub: { server: '10.0.0.5:10000', httpServer: 'https://127.0.0.1:10002' },
      eventBus: { internal: { port: 1883 } },
    });
    expect(() => readEdgeCoreConfig(join(dir, 'missing.yaml'))).toThrow(/kedgeadm join/);
  });

  it('refuses an edgecore.yaml edgecore would refuse, naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, 'nodeName: gw-1\nedgeHub: {sever: "10.0.0.5:10000"}\n');
    expect(() => readEdgeCoreConfig(file)).toThrow(KedgeadmUsageError);
    expect(() => readEdgeCoreConfig(file)).toThrow(/field "edgeHub": unknown field "sever"/);
    writeFileSync(file, 'dataDir: /tmp\n');
    expect(() => readEdgeCoreConfig(file)).toThrow(/field "nodeName"/);
  });

  it('reports a runtime socket that does not exist as a failure with what to do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, `nodeName: gw-1\nedged: {containerRuntimeEndpoint: "unix://${dir}/no.sock"}\n`);
    expect(await checkContainerd(readEdgeCoreConfig(file))).toMatchObject({ status: 'fail', detail: expect.stringContaining('start containerd') });
    writeFileSync(file, 'nodeName: gw-1\nedged: {enable: false}\n');
    expect(await checkContainerd(readEdgeCoreConfig(file))).toMatchObject({ status: 'ok', detail: expect.stringContaining('edged is disabled') });
  });

  it('judges clock skew, host:port and disk space', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(checkClock(new Date('2026-01-01T00:00:02Z'), now).status).toBe('ok');
    expect(checkClock(new Date('2026-01-01T00:01:00Z'), now)).toMatchObject({ status: 'warn', detail: expect.stringContaining('behind') });
    expect(checkClock(new Date('2025-12-31T23:00:00Z'), now).status).toBe('fail');
    expect(checkClock(undefined).status).toBe('warn');
    expect(splitHostPort('[::1]:10000')).toEqual({ host: '::1', port: 10000 });
    expect(checkDisk(join(tmpdir(), 'does', 'not', 'exist')).status).not.toBe('fail');
  });
});

const privateContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS);

privateContainerd.describe('diagnose - a real containerd', () => {
  it('reports the runtime name and version over CRI', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedgeadm-cri-'));
    const runtime = await startPrivateContainerd(join(dir, 'c'), { podSubnet: '10.88.231.0/24', bridgeName: 'kedge-cni-adm' });
    try {
      const file = join(dir, 'edgecore.yaml');
      writeFileSync(file, `nodeName: gw-1\nedged: {containerRuntimeEndpoint: "unix://${runtime.socketPath}"}\n`);
      const result = await checkContainerd(readEdgeCoreConfig(file));
      expect(result.status).toBe('ok');
      expect(result.detail).toMatch(new RegExp(`^containerd v?\\d+\\.\\d+\\S* \\(CRI v1\\) on ${runtime.socketPath}$`));
    } finally {
      await runtime.stop();
    }
  });
});
