// Image GC against a REAL private containerd: the offline busybox and pause images plus one extra image
// nothing uses, a running pod on busybox, and collections forced with thresholds at 0.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCri, type CriClient, type PodSandboxConfig } from '@kedge/cri';
import type { Message } from '@kedge/protocol';
import { createLogger } from '@kedge/telemetry';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageGarbageCollector, ImageGcMetrics } from '../../src/index';
import { BUSYBOX_IMAGE, createTar, importImageTar, importKedgeImages, ociLayoutTar, PAUSE_IMAGE, PRIVATE_CONTAINERD_NEEDS, startPrivateContainerd, stopPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';

const privateContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS);
const UNUSED_IMAGE = 'localhost/kedge/unused:1';
const NODE = 'edge-gc';
const logger = createLogger({ name: 'image-gc-test', level: process.env['KEDGE_TEST_LOG'] === '1' ? 'debug' : 'silent' });

/** An OCI layout tar of one small image of its own (its own layer and config, so its own image id). */
function unusedImageLayoutTar(): Buffer {
  const layerTar = createTar([{ type: 'dir', path: 'data' }, { type: 'file', path: 'data/payload', data: randomBytes(256 * 1024) }]);
  return ociLayoutTar(layerTar, [{ name: UNUSED_IMAGE, process: { Cmd: ['/data/payload'] }, createdBy: 'kedge image-gc test' }]);
}

class RecordingReporter {
  readonly messages: Message[] = [];
  report(message: Message): number {
    this.messages.push(message);
    return this.messages.length;
  }
  eventReasons(): string[] {
    return this.messages.map((message) => (message.content as { reason: string }).reason);
  }
}

privateContainerd.describe('edged - image GC on containerd', () => {
  let dir: string;
  let cri: CriClient;
  let sandboxId: string;

  const tags = async (): Promise<string[]> => (await cri.listImages()).flatMap((image) => image.repoTags);

  beforeAll(async () => {
    // short: unix socket paths are limited to 108 bytes
    dir = await mkdtemp(join(tmpdir(), 'kedge-igc-'));
    // own subnet and bridge: other suites may run a private containerd at the same time (the pod below uses
    // the node's network, so the bridge is never created)
    const containerd = await startPrivateContainerd(dir, { podSubnet: '10.88.216.0/24', bridgeName: 'kedge-cni-igc' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    const unusedTar = join(dir, 'unused.oci.tar');
    await writeFile(unusedTar, unusedImageLayoutTar());
    await importImageTar(containerd.socketPath, unusedTar);
    cri = connectCri(containerd.socketPath, { timeoutMs: 15_000 });
    const sandboxConfig: PodSandboxConfig = {
      metadata: { name: 'app', uid: 'uid-app', namespace: 'default' },
      logDirectory: join(dir, 'logs'),
      linux: { securityContext: { namespaceOptions: { network: 'NODE' } } },
    };
    sandboxId = await cri.runPodSandbox(sandboxConfig);
    const containerId = await cri.createContainer(sandboxId, { metadata: { name: 'app' }, image: BUSYBOX_IMAGE, command: ['sleep', '3600'], logPath: 'app.log' }, sandboxConfig);
    await cri.startContainer(containerId);
  });

  afterAll(async () => {
    if (cri) {
      await cri.stopPodSandbox(sandboxId).catch(() => undefined);
      await cri.removePodSandbox(sandboxId).catch(() => undefined);
      cri.close();
    }
    if (dir) {
      await stopPrivateContainerd(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes nothing while the unused image is younger than the minimum age, and says so', async () => {
    const reporter = new RecordingReporter();
    const gc = new ImageGarbageCollector({
      cri,
      logger,
      nodeName: NODE,
      reporter,
      policy: { highThresholdPercent: 0, lowThresholdPercent: 0, minimumAgeSeconds: 3600, periodSeconds: 3600 },
    });
    const run = await gc.start();
    const later = await gc.collect();
    await gc.stop();
    expect(run.result).toBe('insufficient');
    expect(run.removed).toEqual([]);
    expect(later.removed).toEqual([]);
    expect(run.usageRatio).toBeGreaterThan(0);
    expect(await tags()).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, PAUSE_IMAGE, UNUSED_IMAGE]));
    expect(reporter.eventReasons()).toEqual(['FreeDiskSpaceFailed', 'FreeDiskSpaceFailed']);
    const [event] = reporter.messages;
    expect(event?.route).toMatchObject({ operation: 'insert', resource: expect.stringMatching(new RegExp(`^default/event/${NODE}\\.`)) });
    expect(event?.content).toMatchObject({ involvedObject: { kind: 'Node', name: NODE }, type: 'Warning' });
  });

  it('above the threshold removes the unused image and keeps the one in use and the sandbox image', async () => {
    const registry = new Registry();
    const metrics = new ImageGcMetrics(registry);
    const reporter = new RecordingReporter();
    const gc = new ImageGarbageCollector({
      cri,
      logger,
      nodeName: NODE,
      reporter,
      metrics,
      policy: { highThresholdPercent: 0, lowThresholdPercent: 0, minimumAgeSeconds: 0, periodSeconds: 3600 },
    });
    const unused = (await cri.listImages(UNUSED_IMAGE))[0];
    expect(unused).toBeDefined();
    // the first period runs at start; the image is seen unused then, and a minimum age of 0 is already met
    const run = await gc.start();
    await gc.stop();
    expect(run.removed).toEqual([{ id: unused?.id, repoTags: [UNUSED_IMAGE], size: unused?.size }]);
    const left = await tags();
    expect(left).not.toContain(UNUSED_IMAGE);
    expect(left).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, PAUSE_IMAGE]));
    // nothing else is eligible, so the whole filesystem cannot reach 0 %: the kubelet's warning
    expect(run.result).toBe('insufficient');
    expect(reporter.eventReasons()).toEqual(['ImageGCFreedSpace', 'FreeDiskSpaceFailed']);
    expect((await metrics.removedBytes.get()).values[0]?.value).toBe(unused?.size);
    expect((await metrics.runs.get()).values).toEqual([expect.objectContaining({ labels: { result: 'insufficient' }, value: 1 })]);
    const ratio = (await metrics.usageRatio.get()).values[0]?.value ?? 0;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(1);
  });

  it('below the high threshold only measures', async () => {
    const gc = new ImageGarbageCollector({ cri, logger, nodeName: NODE, policy: { highThresholdPercent: 100, lowThresholdPercent: 99, minimumAgeSeconds: 0 } });
    const run = await gc.start();
    await gc.stop();
    // a filesystem 100 % full would fail every other test first
    expect(run).toMatchObject({ result: 'below-threshold', removed: [], bytesToFree: 0 });
  });
});

describe('edged - image GC without a runtime', () => {
  it('counts and logs a failed period, emits one event per outage, and never throws', async () => {
    const cri = connectCri('/tmp/kedge-igc-no-such.sock', { timeoutMs: 2_000 });
    const registry = new Registry();
    const metrics = new ImageGcMetrics(registry);
    const reporter = new RecordingReporter();
    const gc = new ImageGarbageCollector({ cri, logger, nodeName: NODE, reporter, metrics, policy: { periodSeconds: 3600 } });
    const first = await gc.start();
    const second = await gc.collect();
    await gc.stop();
    cri.close();
    expect(first.result).toBe('error');
    expect(first.error).toMatch(/ImageFsInfo .*UNAVAILABLE/);
    expect(second.result).toBe('error');
    expect((await metrics.runs.get()).values).toEqual([expect.objectContaining({ labels: { result: 'error' }, value: 2 })]);
    expect(reporter.eventReasons()).toEqual(['ImageGCFailed']);
  });

  it('refuses a low threshold above the high one', () => {
    const cri = connectCri('/tmp/kedge-igc-no-such.sock');
    expect(() => new ImageGarbageCollector({ cri, logger, nodeName: NODE, policy: { highThresholdPercent: 80, lowThresholdPercent: 85 } })).toThrow(/lowThresholdPercent \(85\)/);
    cri.close();
  });
});
