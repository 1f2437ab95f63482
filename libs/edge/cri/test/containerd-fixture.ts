// Shared by the CRI tests: a REAL private containerd in a fresh temp dir, with the offline kedge images
// imported, plus a connected CriClient. Stopped by pid and its dir removed in afterAll.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCri } from '../src/index';
import type { CriClient, PodSandboxConfig } from '../src/index';
// A REAL containerd from the test-only fixture library (type:test: lint keeps it out of libs/edge/cri/src).
import { importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';

export { BUSYBOX_IMAGE, importKedgeImages, PAUSE_IMAGE } from '@kedge/containerd-fixture';
export { DEFAULT_POD_SUBNET } from '@kedge/containerd-fixture';

/** The suites on a private containerd declare what it needs: they fail when it is missing, unless allowed to skip. */
export const privateContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS);

export interface TestContainerd {
  dir: string;
  containerd: PrivateContainerd;
  cri: CriClient;
  /** Stops containerd by pid (removing any pod a failed test left) and deletes the dir. */
  stop(): Promise<void>;
}

export async function startTestContainerd(label: string): Promise<TestContainerd> {
  const dir = await mkdtemp(join(tmpdir(), `kedge-cri-${label}-`));
  const containerd = await startPrivateContainerd(dir);
  try {
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
  } catch (error) {
    await containerd.stop();
    throw error;
  }
  const cri = connectCri(containerd.socketPath, { timeoutMs: 15_000 });
  return {
    dir,
    containerd,
    cri,
    async stop() {
      cri.close();
      await containerd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A pod config whose logs land in <dir>/pods/<name>, like /var/log/pods on a node. */
export function podConfig(dir: string, name: string, overrides: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  return {
    metadata: { name, uid: `uid-${name}`, namespace: 'default' },
    logDirectory: join(dir, 'pods', `default_${name}_uid-${name}`),
    labels: { 'kedge.io/test': name },
    ...overrides,
  };
}

export async function waitUntil<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
