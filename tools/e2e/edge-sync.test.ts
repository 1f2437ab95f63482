// End-to-end sync and autonomy: real cloudcore (embedded API server, EdgeController, NodeLifecycle),
// real edgecores (MetaManager, MetaServer), the real kubectl, and a proxy that cuts the link.
import { afterEach, describe, expect, it } from 'vitest';
import { kubectl, kubectlOk, stopAll, waitFor } from './harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type EdgeCoreHandle } from './cluster';
import { CuttableProxy } from './tcp-proxy';

const proxies: CuttableProxy[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

function workload(node: string, namespace: string, index: number): string {
  return `
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg-${index}, namespace: ${namespace}}
data: {greeting: hello-${index}}
---
apiVersion: v1
kind: Secret
metadata: {name: sec-${index}, namespace: ${namespace}}
stringData: {password: pw-${index}}
---
apiVersion: v1
kind: Pod
metadata: {name: app-${index}, namespace: ${namespace}, labels: {app: demo}}
spec:
  nodeName: ${node}
  containers:
  - name: app
    image: localhost/kedge/busybox:1
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg-${index}, key: greeting}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: sec-${index}, key: password}}}
`;
}

/** MetaServer as the gateway's operator reaches it: the root-only kubeconfig edgecore writes (HTTPS, local credential). */
function metaServer(edge: EdgeCoreHandle): { kubeconfig: string } {
  const ready = edge.process.logs.find((l) => l.msg === 'edgecore ready');
  const kubeconfig = ready?.metaServerKubeconfig;
  if (typeof kubeconfig !== 'string') throw new Error('edgecore has not reported its MetaServer kubeconfig');
  return { kubeconfig };
}

async function namesAtEdge(edge: EdgeCoreHandle, resource: string, namespace: string): Promise<string[]> {
  const out = await kubectl(metaServer(edge), ['get', resource, '-n', namespace, '-o', 'jsonpath={.items[*].metadata.name}']);
  return out.code === 0 ? out.stdout.split(' ').filter(Boolean).sort() : [];
}

describe('edge sync - end to end', () => {
  it('an edge registers its node, receives only its own workloads and serves them offline through MetaServer', async () => {
    const cloud = await startCloudCore();
    const admin = { kubeconfig: cloud.kubeconfig };
    const edge = startEdgeCore(cloud, { nodeName: 'gw-a', token: await issueToken(cloud, ['--node', 'gw-a']) });
    const other = startEdgeCore(cloud, { nodeName: 'gw-b', token: await issueToken(cloud, ['--node', 'gw-b']) });
    await cloud.process.waitForLog(isNodeConnected('gw-a'), 'gw-a session');
    await waitFor(async () => (await kubectl(admin, ['get', 'node', 'gw-a', 'gw-b'])).code === 0, 'both nodes registered');
    expect(await kubectlOk(admin, ['get', 'node', 'gw-a', '-o', 'jsonpath={.metadata.labels}'])).toContain('node-role.kubernetes.io/edge');

    await kubectlOk(admin, ['create', 'namespace', 'plant']);
    const manifests = [0, 1, 2].map((i) => workload(i === 2 ? 'gw-b' : 'gw-a', 'plant', i)).join('---\n');
    await kubectlOk(admin, ['apply', '-f', '-'], manifests);

    await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    await waitFor(async () => (await namesAtEdge(edge, 'pods', 'plant')).join() === 'app-0,app-1', 'gw-a pods at its MetaServer');
    expect(await namesAtEdge(edge, 'secrets', 'plant')).toEqual(['sec-0', 'sec-1']);
    expect(await namesAtEdge(edge, 'configmaps', 'plant')).toEqual(['cfg-0', 'cfg-1']);
    await waitFor(async () => (await namesAtEdge(other, 'secrets', 'plant')).join() === 'sec-2', 'gw-b has only its secret');

    // the cloud goes away for good; edgecore restarts and still answers from its store
    cloud.process.kill('SIGKILL');
    await cloud.process.waitForExit();
    await edge.process.stop('SIGTERM');
    const restarted = startEdgeCore(cloud, { nodeName: 'gw-a', dataDir: edge.dataDir });
    await restarted.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready offline');
    const table = await kubectlOk(metaServer(restarted), ['get', 'pods', '-A']);
    expect(table).toMatch(/NAMESPACE\s+NAME\s+READY\s+STATUS/);
    expect(table).toContain('app-0');
    expect(table).toContain('app-1');
    expect(table).not.toContain('app-2');
    expect(await kubectlOk(metaServer(restarted), ['get', 'configmap', 'cfg-1', '-n', 'plant', '-o', 'jsonpath={.data.greeting}'])).toBe('hello-1');
  });

  it('changes made while the link is cut converge exactly when it returns, and the autonomous node keeps its pods', async () => {
    const cloud = await startCloudCore({ nodeGracePeriodSeconds: 3 });
    const admin = { kubeconfig: cloud.kubeconfig };
    const proxy = await CuttableProxy.start(cloud.ports.websocket);
    proxies.push(proxy);
    const edge = startEdgeCore(cloud, { nodeName: 'gw-c', token: await issueToken(cloud, ['--node', 'gw-c']), hubPort: proxy.port, maxReconnectDelayMs: 1_000 });
    await cloud.process.waitForLog(isNodeConnected('gw-c'), 'gw-c session');
    await kubectlOk(admin, ['create', 'namespace', 'site']);
    await kubectlOk(admin, ['apply', '-f', '-'], [0, 1, 2].map((i) => workload('gw-c', 'site', i)).join('---\n'));
    await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    await waitFor(async () => (await namesAtEdge(edge, 'pods', 'site')).length === 3, 'three pods at the edge');

    proxy.cutLink();
    // past the grace period the node is Unknown, but its pods stay (autonomy)
    await waitFor(
      async () => (await kubectlOk(admin, ['get', 'node', 'gw-c', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'Unknown',
      'gw-c Ready=Unknown',
      { timeoutMs: 60_000 },
    );
    await kubectlOk(admin, ['delete', 'pod', 'app-0', '-n', 'site', '--grace-period=0', '--force']);
    await kubectlOk(admin, ['delete', 'secret', 'sec-0', '-n', 'site']);
    await kubectlOk(admin, ['patch', 'configmap', 'cfg-1', '-n', 'site', '--type=merge', '-p', '{"data":{"greeting":"changed"}}']);
    await kubectlOk(admin, ['apply', '-f', '-'], workload('gw-c', 'site', 3));
    // still offline, well past the grace period: the pods are all still there
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const pods = (await kubectlOk(admin, ['get', 'pods', '-n', 'site', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').sort();
    expect(pods).toEqual(['app-1', 'app-2', 'app-3']);
    const taints = await kubectlOk(admin, ['get', 'node', 'gw-c', '-o', 'jsonpath={.spec.taints[*].effect}']);
    expect(taints).not.toContain('NoExecute');
    // the edge still has the old state while cut
    expect(await namesAtEdge(edge, 'pods', 'site')).toEqual(['app-0', 'app-1', 'app-2']);

    proxy.restoreLink();
    await waitFor(async () => (await namesAtEdge(edge, 'pods', 'site')).join() === 'app-1,app-2,app-3', 'pods converge', { timeoutMs: 60_000 });
    await waitFor(async () => (await namesAtEdge(edge, 'secrets', 'site')).join() === 'sec-1,sec-2,sec-3', 'secrets converge');
    expect(await kubectlOk(metaServer(edge), ['get', 'configmap', 'cfg-1', '-n', 'site', '-o', 'jsonpath={.data.greeting}'])).toBe('changed');
    expect(await namesAtEdge(edge, 'configmaps', 'site')).toEqual(['cfg-1', 'cfg-2', 'cfg-3']);
    await waitFor(
      async () => (await kubectlOk(admin, ['get', 'node', 'gw-c', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])) === 'True',
      'gw-c Ready again',
    );
  });
});
