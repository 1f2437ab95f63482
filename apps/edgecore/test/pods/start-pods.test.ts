// edgecore without a container runtime: pods are off with one clear error line, quickly, and edgecore
// goes on. (Pods on a real containerd are tested in libs/edge/edged.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseConfigText } from '@kedge/config';
import { edgeCoreConfigSchema } from '@kedge/edgecore-config';
import { MetaStore } from '@kedge/metamanager';
import { createLogger } from '@kedge/telemetry';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startPods } from '../../src/pods';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(edged: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-edgecore-pods-'));
  dirs.push(dir);
  const config = parseConfigText(JSON.stringify({ nodeName: 'gw-1', dataDir: dir, edged }), edgeCoreConfigSchema, 'test');
  const lines: { level: number; msg: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  const logger = createLogger({ name: 'test', level: 'info', destination });
  const store = new MetaStore({ file: join(dir, 'edgecore.db') });
  return { config, lines, logger, store, reporter: { report: () => 0 } };
}

describe('edgecore - pods wiring', () => {
  it('turns pods off with a clear error when the runtime socket does not answer, and fast', async () => {
    const { config, lines, logger, store, reporter } = setup({ containerRuntimeEndpoint: 'unix:///tmp/kedge-no-such-containerd.sock' });
    const started = Date.now();
    const pods = await startPods(config, store, reporter, logger);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(pods.runtimeVersion).toBeUndefined();
    await pods.stop();
    store.close();
    const error = lines.find((line) => line.level === 50);
    expect(error?.msg).toMatch(/^pods are off: containerd at \/tmp\/kedge-no-such-containerd\.sock does not answer: .*UNAVAILABLE.*; start containerd or set edged\.enable: false$/);
  });

});

// a REAL containerd from the test-only fixture library
import { PRIVATE_CONTAINERD_NEEDS, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';

const privateContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS);

privateContainerd.describe('edgecore - pods on a real containerd', () => {
  it('reports the runtime version for the Node and starts the pod workers', async () => {
    const base = setup({});
    const containerd = await startPrivateContainerd(join(base.config.dataDir, 'c'));
    try {
      const config = { ...base.config, edged: { ...base.config.edged, containerRuntimeEndpoint: `unix://${containerd.socketPath}` } };
      const registry = new Registry();
      const pods = await startPods(config, base.store, base.reporter, base.logger, registry);
      expect(pods.runtimeVersion).toMatch(/^containerd:\/\/\d+\.\d+/);
      expect(base.lines.find((line) => line.msg === 'pods are on')).toBeDefined();
      // image GC's first period runs at start and measures the runtime's image filesystem
      const ratio = async () => (await registry.getSingleMetric('kedge_edged_image_fs_usage_ratio')?.get())?.values[0]?.value;
      const deadline = Date.now() + 10_000;
      while (((await ratio()) ?? 0) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await ratio()).toBeGreaterThan(0);
      await pods.stop();
    } finally {
      base.store.close();
      await containerd.stop();
    }
  });
});
