// MetaServer against real clients: the kubectl binary and a @kubernetes/client-node informer, fed by
// down messages going through the real router into MetaManager, as they would from the cloud.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap, type V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, downMessage, startEdge, tempDir, waitFor } from './fixtures';
import { startLocalServer } from './server-fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real kubectl against `server`, isolated from any kubeconfig or discovery cache on the machine. */
async function kubectl(kubeconfig: string, args: string[]): Promise<KubectlResult> {
  const home = tempDir(cleanup);
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache'), '--request-timeout', '20s', ...args], {
    env: { ...process.env, HOME: home, KUBECONFIG: join(home, 'no-kubeconfig') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', reject);
  });
  let done = false;
  cleanup.add(async () => {
    if (!done && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
      await exited.catch(() => undefined);
    }
  });
  const code = await exited;
  done = true;
  return { code, stdout, stderr };
}

function kubeConfigFor(serverUrl: string, caPem: string, token: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'edge', server: serverUrl, caData: Buffer.from(caPem).toString('base64') }],
    users: [{ name: 'edge-app', token }],
    contexts: [{ name: 'edge', cluster: 'edge', user: 'edge-app' }],
    currentContext: 'edge',
  });
  return config;
}

describe('MetaServer with real clients', () => {
  it('kubectl - get pods -A prints the stored pods with real columns; get configmaps -o json lists them', async () => {
    const edge = startEdge(cleanup);
    await edge.router.dispatch(
      downMessage({
        name: 'web',
        rv: '10',
        fields: { spec: { containers: [{ name: 'app' }] }, status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 1, state: { running: {} } }] } },
      }),
    );
    await edge.router.dispatch(downMessage({ name: 'mqtt', namespace: 'x', rv: '11', fields: { spec: { containers: [{ name: 'broker' }] }, status: { phase: 'Pending' } } }));
    await edge.router.dispatch(downMessage({ type: 'configmap', name: 'settings', namespace: 'x', rv: '12', fields: { data: { interval: '5s' } } }));
    const { kubeconfig } = await startLocalServer(cleanup, edge.store);

    const pods = await kubectl(kubeconfig, ['get', 'pods', '-A']);
    expect(pods.code, pods.stderr).toBe(0);
    const lines = pods.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/));
    expect(lines[0]).toEqual(['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(lines.slice(1).map((cells) => cells.slice(0, 5))).toEqual([
      ['default', 'web', '1/1', 'Running', '1'],
      ['x', 'mqtt', '0/1', 'Pending', '0'],
    ]);

    const configMaps = await kubectl(kubeconfig, ['get', 'configmaps', '-n', 'x', '-o', 'json']);
    expect(configMaps.code, configMaps.stderr).toBe(0);
    const list = JSON.parse(configMaps.stdout) as { items: V1ConfigMap[] };
    expect(list.items.map((item) => [item.kind, item.metadata?.name, item.data])).toEqual([['ConfigMap', 'settings', { interval: '5s' }]]);
  });

  it('informer - lists, then sees ADDED, MODIFIED and DELETED as down messages are applied', async () => {
    const edge = startEdge(cleanup);
    await edge.router.dispatch(downMessage({ name: 'web', rv: '10' }));
    const { server, credential } = await startLocalServer(cleanup, edge.store);
    const config = kubeConfigFor(server.url, credential.caPem, credential.token);
    const api = config.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Pod>(config, '/api/v1/namespaces/default/pods', () => api.listNamespacedPod({ namespace: 'default' }));
    const seen: string[] = [];
    informer.on('add', (pod) => seen.push(`add ${pod.metadata?.name}`));
    informer.on('update', (pod) => seen.push(`update ${pod.metadata?.name} ${JSON.stringify(pod.metadata?.labels ?? {})}`));
    informer.on('delete', (pod) => seen.push(`delete ${pod.metadata?.name}`));
    informer.on('error', (error) => seen.push(`error ${String(error)}`));
    await informer.start();
    cleanup.add(() => informer.stop());
    await waitFor(() => seen.includes('add web'), 'the listed pod');

    await edge.router.dispatch(downMessage({ name: 'api', rv: '11' }));
    await edge.router.dispatch(downMessage({ operation: 'update', name: 'web', rv: '12', labels: { version: '2' } }));
    await edge.router.dispatch(downMessage({ name: 'other', namespace: 'x', rv: '13' }));
    await edge.router.dispatch(downMessage({ operation: 'delete', name: 'api', rv: '14' }));
    await waitFor(() => seen.includes('delete api'), 'the delete at the informer', { onTimeout: () => seen.join('\n') });
    expect(seen).toEqual(['add web', 'add api', 'update web {"version":"2"}', 'delete api']);
    expect(informer.list().map((pod) => pod.metadata?.name)).toEqual(['web']);
    expect(informer.get('web', 'default')?.metadata?.resourceVersion).toBe(String(edge.store.get('pod', 'default', 'web')?.localRevision));
  });

  it('informer - a resourceVersion compacted away while it was watching gets 410 Expired and the informer lists again', async () => {
    const edge = startEdge(cleanup, { store: { keepChanges: 3 } });
    await edge.router.dispatch(downMessage({ name: 'web', rv: '10' }));
    // short server-side watch timeout: the informer re-watches from its last resourceVersion soon
    const { server, credential } = await startLocalServer(cleanup, edge.store, { watchTimeoutSeconds: 1 });
    const config = kubeConfigFor(server.url, credential.caPem, credential.token);
    const api = config.makeApiClient(CoreV1Api);
    let lists = 0;
    const informer = makeInformer<V1Pod>(config, '/api/v1/namespaces/default/pods', () => {
      lists += 1;
      return api.listNamespacedPod({ namespace: 'default' });
    });
    await informer.start();
    cleanup.add(() => informer.stop());
    await waitFor(() => informer.list().length === 1, 'the first list');
    // changes the pod watch does not see move the log past the informer's resourceVersion
    for (let rv = 20; rv < 25; rv += 1) await edge.router.dispatch(downMessage({ type: 'configmap', name: `cm-${rv}`, rv: String(rv) }));
    expect(edge.store.oldestResumableRevision).toBeGreaterThan(1);
    await waitFor(() => lists >= 2, 'a second list after 410 Expired');
    await edge.router.dispatch(downMessage({ name: 'after-relist', rv: '30' }));
    await waitFor(() => informer.list().length === 2, 'the informer to keep watching after the re-list');
  });
});
