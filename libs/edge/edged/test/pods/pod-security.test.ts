// The threat suite of pods on the gateway (issue 12, items 8 and 9): edged runs as root, so a pod spec is
// where an attacker starts. Each test runs a REAL pod on a private containerd with edged's default policy
// (no privileged, no hostNetwork, hostPath only under one allowed dir) and checks what the container can
// really do, read back with ExecSync and /proc/self/status inside it.
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PodSecurityMetrics, type PodWorkers } from '../../src/index';
import type { ContainerStatusView, PodsEnv } from './pods-fixture';
import { BUSYBOX_IMAGE, NODE, RecordingReporter, privateContainerd, startPodsEnv, waitUntil } from './pods-fixture';

const LOOP = 'while true; do sleep 1 & wait $!; done';

privateContainerd.describe('threat - pods on the gateway', () => {
  let env: PodsEnv;
  let workers: PodWorkers;
  let reporter: RecordingReporter;
  let metrics: PodSecurityMetrics;
  let allowedDir: string;

  const spec = (fields: Record<string, unknown>) => ({ nodeName: NODE, terminationGracePeriodSeconds: 0, ...fields });
  const loop = (name: string, fields: Record<string, unknown> = {}) => ({ name, image: BUSYBOX_IMAGE, command: ['sh', '-c', LOOP], ...fields });

  const containerOf = (pod: string, container: string): ContainerStatusView | undefined => reporter.status(pod)?.containerStatuses.find((c) => c.name === container);

  const containerId = async (pod: string, container: string): Promise<string> =>
    waitUntil(() => {
      const status = containerOf(pod, container);
      return status?.state.running ? status.containerID?.replace(/^containerd:\/\//, '') : undefined;
    }, `${pod}/${container} running`);

  const exec = async (pod: string, container: string, script: string) => {
    const result = await env.cri.execSync(await containerId(pod, container), ['sh', '-c', script], { timeoutSeconds: 10 });
    return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  };

  const run = async (pod: string, container: string, script: string): Promise<string> => {
    const result = await exec(pod, container, script);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  };

  /** the waiting state of a container edged refused to create (it never runs) */
  const refusedContainer = async (pod: string, container: string) => {
    const waiting = await waitUntil(() => {
      const status = containerOf(pod, container);
      if (status?.state.running) throw new Error(`${pod}/${container} is running: edged did not refuse it`);
      return status?.state.waiting?.reason === 'CreateContainerConfigError' ? status.state.waiting : undefined;
    }, `${pod}/${container} refused`);
    return waiting;
  };

  /** a pod edged refused as a whole: Failed, with the field in the message, an Event, and nothing in the runtime */
  const refusedPod = async (pod: string) => {
    const status = await waitUntil(() => {
      const latest = reporter.status(pod);
      if (latest?.containerStatuses.some((c) => c.state.running)) throw new Error(`${pod} is running: edged did not refuse it`);
      return latest?.phase === 'Failed' ? latest : undefined;
    }, `${pod} refused`);
    expect(status.reason).toBe('PodSecurityRefused');
    const events = reporter.events(pod).filter((e) => e.reason === 'PodSecurityRefused');
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]?.type).toBe('Warning');
    expect(await env.cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.name': pod } })).toEqual([]);
    return status;
  };

  const procStatus = async (pod: string, container: string, field: string): Promise<string> =>
    (await run(pod, container, `grep '^${field}:' /proc/self/status`)).replace(`${field}:`, '').trim();

  beforeAll(async () => {
    env = await startPodsEnv({ podSubnet: '10.88.218.0/24', bridgeName: 'kedge-cni-sec' });
    allowedDir = join(env.dir, 'allowed');
    mkdirSync(join(allowedDir, 'data'), { recursive: true });
    // a symlink planted in the allowed dir (by an earlier pod that had it read-write) pointing at the host root
    symlinkSync('/', join(allowedDir, 'root-link'));
    env.apply('configmap', 'settings', { data: { 'app.conf': 'interval=5s\n', tool: '#!/bin/sh\necho hi\n' } });

    // 8. volume paths
    env.apply('pod', 'subpath-escape', {
      spec: spec({
        volumes: [{ name: 'shared', emptyDir: {} }],
        // container 1 plants the link, container 2 asks for it as its subPath
        initContainers: [{ name: 'plant', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'ln -s / /shared/escape'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
        containers: [loop('victim', { volumeMounts: [{ name: 'shared', mountPath: '/host', subPath: 'escape' }] })],
      }),
    });
    env.apply('pod', 'subpath-inside', {
      spec: spec({
        volumes: [{ name: 'shared', emptyDir: {} }],
        initContainers: [
          { name: 'prepare', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'mkdir -p /shared/dir && echo inside > /shared/dir/file && ln -s dir /shared/link'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] },
        ],
        containers: [
          loop('app', {
            volumeMounts: [
              { name: 'shared', mountPath: '/by-dir', subPath: 'dir' },
              { name: 'shared', mountPath: '/by-link', subPath: 'link' },
              { name: 'shared', mountPath: '/one-file', subPath: 'dir/file' },
            ],
          }),
        ],
      }),
    });
    env.apply('pod', 'subpath-dotdot', {
      spec: spec({ volumes: [{ name: 'shared', emptyDir: {} }], containers: [loop('app', { volumeMounts: [{ name: 'shared', mountPath: '/up', subPath: '../../../../../..' }] })] }),
    });
    env.apply('pod', 'subpath-absolute', {
      spec: spec({ volumes: [{ name: 'shared', emptyDir: {} }], containers: [loop('app', { volumeMounts: [{ name: 'shared', mountPath: '/abs', subPath: '/etc' }] })] }),
    });
    env.apply('pod', 'items-dotdot', {
      spec: spec({
        volumes: [{ name: 'conf', configMap: { name: 'settings', items: [{ key: 'app.conf', path: '../../../../items-escaped' }] } }],
        containers: [loop('app', { volumeMounts: [{ name: 'conf', mountPath: '/conf' }] })],
      }),
    });
    env.apply('pod', 'data-volume', {
      spec: spec({
        securityContext: { runAsUser: 1000 },
        volumes: [{ name: 'conf', configMap: { name: 'settings', items: [{ key: 'app.conf', path: 'app.conf' }, { key: 'tool', path: 'tool', mode: 0o4777 }] } }],
        // the mount does not say readOnly: a data volume is read-only whatever the mount says
        containers: [loop('app', { volumeMounts: [{ name: 'conf', mountPath: '/conf' }] })],
      }),
    });

    // 9. security settings
    env.apply('pod', 'run-as', {
      spec: spec({
        securityContext: { runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], fsGroup: 2000 },
        volumes: [{ name: 'scratch', emptyDir: {} }],
        containers: [loop('pod-level', { volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }), loop('own', { securityContext: { runAsUser: 2000, runAsGroup: 2001 } })],
      }),
    });
    env.apply('pod', 'read-only-root', {
      spec: spec({ volumes: [{ name: 'scratch', emptyDir: {} }], containers: [loop('app', { securityContext: { readOnlyRootFilesystem: true }, volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] })] }),
    });
    env.apply('pod', 'caps', {
      spec: spec({
        containers: [
          loop('drop-all', { securityContext: { capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false } }),
          loop('bind-only', { securityContext: { capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }),
          loop('default'),
        ],
      }),
    });
    env.apply('pod', 'root-image', { spec: spec({ securityContext: { runAsNonRoot: true }, containers: [loop('app')] }) });
    env.apply('pod', 'non-root-ok', { spec: spec({ securityContext: { runAsNonRoot: true, runAsUser: 1000 }, containers: [loop('app')] }) });
    env.apply('pod', 'privileged', { spec: spec({ containers: [loop('app', { securityContext: { privileged: true } })] }) });
    env.apply('pod', 'sys-admin', { spec: spec({ containers: [loop('app', { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } })] }) });
    env.apply('pod', 'unconfined', { spec: spec({ securityContext: { seccompProfile: { type: 'Unconfined' } }, containers: [loop('app')] }) });
    env.apply('pod', 'host-network', { spec: spec({ hostNetwork: true, containers: [loop('app')] }) });
    env.apply('pod', 'host-pid', { spec: spec({ hostPID: true, containers: [loop('app')] }) });
    env.apply('pod', 'host-path-etc', { spec: spec({ volumes: [{ name: 'etc', hostPath: { path: '/etc' } }], containers: [loop('app', { volumeMounts: [{ name: 'etc', mountPath: '/host-etc' }] })] }) });
    env.apply('pod', 'host-path-dotdot', {
      spec: spec({ volumes: [{ name: 'up', hostPath: { path: `${allowedDir}/../../..` } }], containers: [loop('app', { volumeMounts: [{ name: 'up', mountPath: '/up' }] })] }),
    });
    env.apply('pod', 'host-path-link', {
      spec: spec({ volumes: [{ name: 'link', hostPath: { path: join(allowedDir, 'root-link') } }], containers: [loop('app', { volumeMounts: [{ name: 'link', mountPath: '/host' }] })] }),
    });
    env.apply('pod', 'host-path-allowed', {
      spec: spec({ volumes: [{ name: 'data', hostPath: { path: join(allowedDir, 'data') } }], containers: [loop('app', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })] }),
    });
    env.apply('pod', 'selinux', { spec: spec({ securityContext: { seLinuxOptions: { type: 'spc_t' } }, containers: [loop('app')] }) });

    reporter = new RecordingReporter();
    metrics = new PodSecurityMetrics(new Registry());
    workers = env.newWorkers(reporter, { security: { allowedHostPaths: [allowedDir] }, metrics });
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    await env?.stop();
  });

  it('attack - a container plants a symlink to / in an emptyDir and another mounts it through subPath: the mount is refused', async () => {
    const waiting = await refusedContainer('subpath-escape', 'victim');
    expect(waiting.message).toContain('spec.containers[0].volumeMounts[0].subPath');
    expect(waiting.message).toMatch(/symlink|outside/);
    expect(reporter.events('subpath-escape').some((e) => e.reason === 'FailedMount' && e.message.includes('subPath'))).toBe(true);
    const victims = await env.cri.listContainers({ labelSelector: { 'io.kubernetes.pod.name': 'subpath-escape', 'io.kubernetes.container.name': 'victim' } });
    expect(victims).toEqual([]);
  });

  it('subPath - a directory, a symlink that stays inside the volume, and one file still mount', async () => {
    expect(await run('subpath-inside', 'app', 'cat /by-dir/file /by-link/file /one-file')).toBe('inside\ninside\ninside\n');
  });

  it('attack - a subPath with ".." that climbs out of the volume is refused', async () => {
    const status = await refusedPod('subpath-dotdot');
    expect(status.message).toContain('spec.containers[0].volumeMounts[0].subPath');
    expect(status.message).toContain("must not contain '..'");
  });

  it('attack - an absolute subPath is refused', async () => {
    expect((await refusedPod('subpath-absolute')).message).toContain('spec.containers[0].volumeMounts[0].subPath');
  });

  it('attack - a configMap items path with ".." that writes outside the volume on the host is refused', async () => {
    expect((await refusedPod('items-dotdot')).message).toContain('spec.volumes[0].configMap.items[0].path');
    const volumeDir = join(env.dir, 'pods', 'uid-items-dotdot', 'volumes', 'conf');
    expect(existsSync(join(volumeDir, '../../../../items-escaped'))).toBe(false);
  });

  it('attack - writing into a configMap volume, or a setuid file mode through it, is refused (read-only, modes masked to 0777)', async () => {
    const write = await exec('data-volume', 'app', 'echo x > /conf/app.conf');
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect(await run('data-volume', 'app', 'stat -c "%a %n" /conf/app.conf /conf/tool')).toBe('644 /conf/app.conf\n777 /conf/tool\n');
  });

  it('attack - a container running as root when the pod says runAsUser 1000 is refused: it runs as uid 1000 with its groups', async () => {
    expect(await run('run-as', 'pod-level', 'id -u; id -g; id -G')).toBe('1000\n3000\n3000 2000 4000\n');
    // fsGroup: the emptyDir belongs to the group, so the non-root user can write it
    expect(await run('run-as', 'pod-level', 'echo ok > /scratch/file && stat -c "%g" /scratch')).toBe('2000\n');
    expect(await run('run-as', 'own', 'id -u; id -g')).toBe('2000\n2001\n');
  });

  it('attack - writing to the root filesystem of a readOnlyRootFilesystem container is refused', async () => {
    const write = await exec('read-only-root', 'app', 'touch /evil');
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect(await run('read-only-root', 'app', 'echo ok > /scratch/ok && cat /scratch/ok')).toBe('ok\n');
  });

  it('attack - using a capability the container dropped is refused: drop ALL leaves CapEff empty and no_new_privs set', async () => {
    expect(await procStatus('caps', 'drop-all', 'CapEff')).toBe('0000000000000000');
    expect(await procStatus('caps', 'drop-all', 'NoNewPrivs')).toBe('1');
    expect(await procStatus('caps', 'bind-only', 'CapEff')).toBe('0000000000000400');
    // the runtime's default set: not empty, but without CAP_SYS_ADMIN (bit 21)
    const defaults = BigInt(`0x${await procStatus('caps', 'default', 'CapEff')}`);
    expect(defaults).not.toBe(0n);
    expect(defaults & (1n << 21n)).toBe(0n);
  });

  it("attack - syscalls outside the runtime's seccomp profile from a pod that names none are refused (RuntimeDefault by default)", async () => {
    expect(await procStatus('caps', 'default', 'Seccomp')).toBe('2');
  });

  it('attack - a root image in a runAsNonRoot pod is refused, and the same pod with runAsUser 1000 runs', async () => {
    const waiting = await refusedContainer('root-image', 'app');
    expect(waiting.message).toMatch(/runAsNonRoot/);
    expect(await run('non-root-ok', 'app', 'id -u')).toBe('1000\n');
  });

  it('attack - a privileged container is refused when the node does not allow privileged pods', async () => {
    const status = await refusedPod('privileged');
    expect(status.message).toContain('spec.containers[0].securityContext.privileged');
    expect(status.message).toContain('edged.podSecurity.allowPrivileged');
    expect(status.containerStatuses[0]?.state.waiting?.reason).toBe('PodSecurityRefused');
  });

  it('attack - adding CAP_SYS_ADMIN is refused when the node does not allow privileged pods', async () => {
    expect((await refusedPod('sys-admin')).message).toContain('spec.containers[0].securityContext.capabilities.add[0]');
  });

  it('attack - a pod asking to run without seccomp is refused when the node does not allow privileged pods', async () => {
    expect((await refusedPod('unconfined')).message).toContain('spec.securityContext.seccompProfile.type');
  });

  it("attack - a hostNetwork pod (reaching the gateway's loopback services) is refused by default", async () => {
    const status = await refusedPod('host-network');
    expect(status.message).toContain('spec.hostNetwork');
    expect(status.message).toContain('edged.podSecurity.allowHostNetwork');
  });

  it("attack - a hostPID pod (seeing and signalling the gateway's processes) is refused by default", async () => {
    expect((await refusedPod('host-pid')).message).toContain('spec.hostPID');
  });

  it('attack - a hostPath volume outside the allowlist is refused', async () => {
    const status = await refusedPod('host-path-etc');
    expect(status.message).toContain('spec.volumes[0].hostPath.path');
    expect(status.message).toContain('edged.podSecurity.allowedHostPaths');
  });

  it('attack - a hostPath that climbs out of an allowed dir with ".." is refused', async () => {
    expect((await refusedPod('host-path-dotdot')).message).toContain('spec.volumes[0].hostPath.path');
  });

  it('attack - a hostPath through a symlink in an allowed dir that points at / is refused', async () => {
    const waiting = await refusedContainer('host-path-link', 'app');
    expect(waiting.message).toContain('spec.volumes[0].hostPath.path');
  });

  it('hostPath - a dir under the allowlist mounts', async () => {
    await run('host-path-allowed', 'app', 'echo from-pod > /data/out');
    await waitUntil(() => existsSync(join(allowedDir, 'data', 'out')), 'the file on the host');
  });

  it('attack - a security setting edged cannot honour (seLinuxOptions) is refused, never silently dropped', async () => {
    expect((await refusedPod('selinux')).message).toContain('spec.securityContext.seLinuxOptions');
  });

  it('refusals - counted by reason in kedge_edged_pod_security_refused_total', async () => {
    const values = (await metrics.refused.get()).values;
    const count = (reason: string) => values.filter((v) => v.labels['reason'] === reason).reduce((sum, v) => sum + v.value, 0);
    for (const reason of ['privileged', 'hostNetwork', 'hostNamespace', 'hostPath', 'capabilities', 'seccomp', 'unsupported', 'unsafePath', 'subPathEscape', 'runAsNonRoot'])
      expect(count(reason), reason).toBeGreaterThan(0);
  });
});
