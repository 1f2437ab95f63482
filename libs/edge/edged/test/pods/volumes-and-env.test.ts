// emptyDir, projected volumes and envFrom on a REAL containerd: what the containers actually see, read
// back with ExecSync inside them.
import type { PodWorkers } from '../../src/index';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PodsEnv } from './pods-fixture';
import { BUSYBOX_IMAGE, NODE, RecordingReporter, privateContainerd, startPodsEnv, waitUntil } from './pods-fixture';

const LOOP = 'while true; do sleep 1 & wait $!; done';

privateContainerd.describe('edged - volumes and env', () => {
  let env: PodsEnv;
  let workers: PodWorkers;
  let reporter: RecordingReporter;

  const containerId = async (pod: string, container: string): Promise<string> =>
    waitUntil(() => {
      const status = reporter.status(pod)?.containerStatuses.find((c) => c.name === container);
      return status?.state.running ? status.containerID?.replace(/^containerd:\/\//, '') : undefined;
    }, `${pod}/${container} running`);

  const run = async (pod: string, container: string, script: string): Promise<string> => {
    const result = await env.cri.execSync(await containerId(pod, container), ['sh', '-c', script], { timeoutSeconds: 10 });
    expect(result.stderr.toString()).toBe('');
    expect(result.exitCode).toBe(0);
    return result.stdout.toString();
  };

  beforeAll(async () => {
    // own bridge and subnet: other suites run their own containerd at the same time (these pods use the node's network)
    env = await startPodsEnv({ podSubnet: '10.88.217.0/24', bridgeName: 'kedge-cni-ve' });
    env.apply('configmap', 'settings', { data: { LOG_LEVEL: 'debug', MODE: 'fast', 'app.conf': 'interval=5s\n' } });
    env.apply('secret', 'creds', { data: { user: Buffer.from('admin').toString('base64'), password: Buffer.from('s3cr3t').toString('base64') } });
    const spec = (fields: Record<string, unknown>) => ({ nodeName: NODE, hostNetwork: true, terminationGracePeriodSeconds: 0, ...fields });
    env.apply('pod', 'volumes', {
      spec: spec({
        volumes: [
          { name: 'shared', emptyDir: {} },
          {
            name: 'bundle',
            projected: {
              defaultMode: 0o440,
              sources: [
                { configMap: { name: 'settings', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
                { secret: { name: 'creds', items: [{ key: 'password', path: 'secret/password', mode: 0o400 }] } },
                {
                  downwardAPI: {
                    items: [
                      { path: 'pod/name', fieldRef: { fieldPath: 'metadata.name' } },
                      { path: 'pod/namespace', fieldRef: { fieldPath: 'metadata.namespace' }, mode: 0o600 },
                    ],
                  },
                },
                { configMap: { name: 'absent', optional: true } },
              ],
            },
          },
        ],
        containers: [
          {
            name: 'writer',
            image: BUSYBOX_IMAGE,
            command: ['sh', '-c', `echo from-writer > /shared/hello; ${LOOP}`],
            volumeMounts: [{ name: 'shared', mountPath: '/shared' }],
            envFrom: [
              { configMapRef: { name: 'settings' }, prefix: 'CFG_' },
              { secretRef: { name: 'creds' } },
              { configMapRef: { name: 'absent', optional: true } },
              { secretRef: { name: 'absent', optional: true } },
            ],
            env: [{ name: 'CFG_MODE', value: 'explicit' }],
          },
          {
            name: 'reader',
            image: BUSYBOX_IMAGE,
            command: ['sh', '-c', LOOP],
            volumeMounts: [
              { name: 'shared', mountPath: '/data' },
              { name: 'bundle', mountPath: '/bundle', readOnly: true },
            ],
          },
        ],
      }),
    });
    env.apply('pod', 'missing-ref', {
      spec: spec({ containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', LOOP], envFrom: [{ configMapRef: { name: 'late' } }] }] }),
    });
    reporter = new RecordingReporter();
    workers = env.newWorkers(reporter);
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    await env?.stop();
  });

  it('emptyDir - two containers of one pod share it, both ways', async () => {
    expect(await run('volumes', 'reader', 'cat /data/hello')).toBe('from-writer\n');
    await run('volumes', 'reader', 'echo from-reader > /data/back');
    expect(await run('volumes', 'writer', 'cat /shared/back')).toBe('from-reader\n');
  });

  it('projected - configMap, secret and downwardAPI items at their paths, and nothing else', async () => {
    expect(await run('volumes', 'reader', 'cd /bundle && find . -type f | sort')).toBe('./conf/app.conf\n./pod/name\n./pod/namespace\n./secret/password\n');
    expect(await run('volumes', 'reader', 'cat /bundle/conf/app.conf /bundle/secret/password; echo; cat /bundle/pod/name; echo; cat /bundle/pod/namespace')).toBe(
      'interval=5s\ns3cr3t\nvolumes\ndefault',
    );
  });

  it('projected - defaultMode for files without a mode, the item mode where given', async () => {
    const modes = await run('volumes', 'reader', 'cd /bundle && stat -c "%a %n" conf/app.conf secret/password pod/name pod/namespace');
    expect(modes).toBe('440 conf/app.conf\n400 secret/password\n440 pod/name\n600 pod/namespace\n');
  });

  it('projected - mounted read-only when the mount says so', async () => {
    const result = await env.cri.execSync(await containerId('volumes', 'reader'), ['sh', '-c', 'echo x > /bundle/new'], { timeoutSeconds: 10 });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr.toString()).toMatch(/Read-only file system/);
  });

  it('envFrom - configMap with a prefix, secret as is, optional missing refs skipped, env overriding envFrom', async () => {
    const lines = (await run('volumes', 'writer', 'env')).split('\n');
    expect(lines).toEqual(expect.arrayContaining(['CFG_LOG_LEVEL=debug', 'CFG_MODE=explicit', 'user=admin', 'password=s3cr3t']));
    expect(lines.filter((line) => line.startsWith('LOG_LEVEL=') || line.startsWith('MODE='))).toEqual([]);
  });

  it('envFrom - a missing required configMap holds the container with CreateContainerConfigError until it arrives', async () => {
    const waiting = await waitUntil(() => reporter.status('missing-ref')?.containerStatuses[0]?.state.waiting, 'missing-ref waiting');
    expect(waiting.reason).toBe('CreateContainerConfigError');
    expect(waiting.message).toMatch(/configmap "late" not found/);
    env.apply('configmap', 'late', { data: { ARRIVED: 'yes' } });
    expect(await run('missing-ref', 'app', 'echo $ARRIVED')).toBe('yes\n');
  });
});
