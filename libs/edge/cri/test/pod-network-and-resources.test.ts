// A pod on the CNI bridge network (gets an IP from the private /24) and cgroup resource limits,
// checked where the kernel applies them: the v1 memory controller of the container's cgroup.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodSandboxConfig } from '../src/index';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestContainerd } from './containerd-fixture';
import { BUSYBOX_IMAGE, DEFAULT_POD_SUBNET, podConfig, privateContainerd, startTestContainerd } from './containerd-fixture';

const MiB = 1024 * 1024;
const subnetPrefix = DEFAULT_POD_SUBNET.replace(/\.0\/24$/, '.');

/** The container's memory limit as the kernel sees it (cgroup v1 here; v2 read as a fallback). */
function kernelMemoryLimit(cgroupsPath: string): number {
  const v1 = join('/sys/fs/cgroup/memory', cgroupsPath, 'memory.limit_in_bytes');
  const file = existsSync(v1) ? v1 : join('/sys/fs/cgroup', cgroupsPath, 'memory.max');
  return Number(readFileSync(file, 'utf8').trim());
}

privateContainerd.describe('cri - pod network and resources', () => {
  let env: TestContainerd;
  let sandboxConfig: PodSandboxConfig;
  let sandboxId: string;
  let containerId: string;
  let cgroupsPath: string;

  beforeAll(async () => {
    env = await startTestContainerd('podnet');
    sandboxConfig = podConfig(env.dir, 'netpod', {
      hostname: 'netpod',
      linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('a POD-network sandbox gets an IP from the bridge subnet', async () => {
    sandboxId = await env.cri.runPodSandbox(sandboxConfig);
    const status = await env.cri.podSandboxStatus(sandboxId);
    expect(status.state).toBe('SANDBOX_READY');
    expect(status.namespaceOptions?.network).toBe('POD');
    expect(status.ip.startsWith(subnetPrefix)).toBe(true);
  });

  it('starts a container with memory and CPU limits; the kernel enforces them', async () => {
    containerId = await env.cri.createContainer(
      sandboxId,
      {
        metadata: { name: 'limited' },
        image: BUSYBOX_IMAGE,
        command: ['sleep', '3600'],
        logPath: 'limited/0.log',
        linux: { resources: { memoryLimitInBytes: 64 * MiB, cpuPeriod: 100_000, cpuQuota: 50_000 } },
      },
      sandboxConfig,
    );
    await env.cri.startContainer(containerId);
    const status = await env.cri.containerStatus(containerId, { verbose: true });
    expect(status.state).toBe('CONTAINER_RUNNING');
    expect(status.resources).toMatchObject({ memoryLimitInBytes: 64 * MiB, cpuQuota: 50_000, cpuPeriod: 100_000 });
    const info = JSON.parse(status.info['info'] ?? '{}') as { pid?: number; runtimeSpec?: { linux?: { cgroupsPath?: string } } };
    expect(info.pid).toBeGreaterThan(0);
    cgroupsPath = info.runtimeSpec?.linux?.cgroupsPath ?? '';
    expect(cgroupsPath).toContain(containerId);
    expect(kernelMemoryLimit(cgroupsPath)).toBe(64 * MiB);
  });

  it('sees its pod IP and hostname from inside', async () => {
    const { ip } = await env.cri.podSandboxStatus(sandboxId);
    const result = await env.cri.execSync(containerId, ['sh', '-c', 'hostname; ip -4 addr show eth0'], { timeoutSeconds: 5 });
    expect(result.exitCode).toBe(0);
    const output = result.stdout.toString();
    expect(output.split('\n')[0]).toBe('netpod');
    expect(output).toContain(`inet ${ip}/24`);
  });

  it('UpdateContainerResources changes the live limit', async () => {
    await env.cri.updateContainerResources(containerId, { memoryLimitInBytes: 96 * MiB, cpuPeriod: 100_000, cpuQuota: 50_000 });
    expect(kernelMemoryLimit(cgroupsPath)).toBe(96 * MiB);
    expect((await env.cri.containerStatus(containerId)).resources?.memoryLimitInBytes).toBe(96 * MiB);
  });

  it('ListContainerStats reports the CPU time a busy loop adds and the working set under the limit', async () => {
    const cpuOf = async () => (await env.cri.listContainerStats({ id: containerId }))[0];
    const before = await cpuOf();
    expect(before).toMatchObject({ id: containerId, name: 'limited' });
    expect(before?.memory?.workingSetBytes).toBeGreaterThan(0);
    // with a limit, containerd reports what is left under it
    expect(before?.memory?.availableBytes).toBeGreaterThan(0);
    await env.cri.execSync(containerId, ['timeout', '1', 'sh', '-c', 'while :; do :; done'], { timeoutSeconds: 10 });
    const after = await cpuOf();
    expect((after?.cpu?.usageCoreNanoSeconds ?? 0) - (before?.cpu?.usageCoreNanoSeconds ?? 0)).toBeGreaterThan(100_000_000);
    expect(after?.cpu?.timestamp).toBeGreaterThan(before?.cpu?.timestamp ?? 0n);
    // containerd 1.6 answers ListPodSandboxStats only for sandboxes with a pod cgroup (none here): a CriError, never a crash
    const sandboxStats = await env.cri.listPodSandboxStats().catch((error: unknown) => error);
    if (Array.isArray(sandboxStats)) expect(sandboxStats.map((s) => s.id)).toContain(sandboxId);
    else expect((sandboxStats as Error).name).toBe('CriError');
  });

  it('removing the sandbox removes its container and releases the IP', async () => {
    await env.cri.stopPodSandbox(sandboxId);
    expect((await env.cri.podSandboxStatus(sandboxId)).state).toBe('SANDBOX_NOTREADY');
    await env.cri.removePodSandbox(sandboxId);
    expect(await env.cri.listContainers()).toEqual([]);
    expect(await env.cri.listPodSandbox()).toEqual([]);
  });
});
