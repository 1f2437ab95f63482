// edgecore in external EventBus mode against a real mosquitto: the standard mosquitto_pub and
// mosquitto_sub clients query and update twins through that broker, as KubeEdge users do.
import { spawn } from 'node:child_process';
import { Cleanup, requires, startMosquitto } from '@kedge/testkit';
import { afterEach, expect, it } from 'vitest';
import { stopAll, waitFor } from './harness';
import { applyManifests, device, deviceModel, deviceTwins, manifestText, startDeviceNode, twinTopic, twinUpdate } from './device-fixtures';

const cleanup = new Cleanup();
afterEach(async () => {
  await stopAll();
  await cleanup.run();
});

const MANIFESTS = manifestText(
  deviceModel('meter', 'virtual', [{ name: 'power', type: 'INT', accessMode: 'ReadOnly', minimum: '0', maximum: '10000', unit: 'W' }]),
  device('meter-1', 'meter', 'gw-ext'),
);

const BASE = twinTopic('meter-1');

/** mosquitto_sub for one message on `topic`; resolves with its payload (or '' after the timeout). */
function subscribeOnce(port: number, topic: string): { ready: Promise<void>; payload: Promise<string>; pid: number } {
  const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', topic, '-C', '1', '-W', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  cleanup.add(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  });
  return {
    pid: child.pid ?? -1,
    // mosquitto_sub has no "subscribed" signal; a short settle before publishing is enough on loopback
    ready: new Promise((resolve) => setTimeout(resolve, 300)),
    payload: new Promise((resolve) => child.once('exit', () => resolve(out.trim()))),
  };
}

function publish(port: number, topic: string, message: string): Promise<number | null> {
  const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', message], { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const needs = await requires('mosquitto', 'mosquitto-clients', 'kubectl');

needs.describe('devices - external broker', () => {
  it('mosquitto_pub and mosquitto_sub update and query a twin through a real mosquitto in external mode', async () => {
    const broker = await startMosquitto(cleanup);
    const { cloud } = await startDeviceNode('gw-ext', { externalBrokerUrl: broker.url });
    await applyManifests(cloud, MANIFESTS);

    // the device reaches the edge asynchronously: update until the result says it was accepted
    const update = twinUpdate('power', '420', 'int');
    let result = '';
    await waitFor(async () => {
      const sub = subscribeOnce(broker.port, `${BASE}/update/result`);
      await sub.ready;
      expect(await publish(broker.port, `${BASE}/update`, update)).toBe(0);
      result = await sub.payload;
      return result.length > 0 && !result.includes('"code"');
    }, 'the twin update result through mosquitto', { timeoutMs: 60_000, onTimeout: () => `last result: ${result}` });

    const get = subscribeOnce(broker.port, `${BASE}/get/result`);
    await get.ready;
    await publish(broker.port, `${BASE}/get`, JSON.stringify({ event_id: 'g1', timestamp: 0 }));
    const document = JSON.parse(await get.payload) as { twin?: Record<string, { actual?: { value?: string } }> };
    expect(document.twin?.['power']?.actual?.value).toBe('420');

    // and the cloud sees it
    await waitFor(async () => (await deviceTwins(cloud.kubeconfig, 'meter-1')).includes('420'), 'the reported value in Device.status');
  });
});
