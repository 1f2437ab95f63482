// End-to-end workloads: a real cloudcore with its embedded API server runs the scheduler and the
// workload controllers (controllers.enable auto); real edgecores join with tokens. A Deployment with a
// nodeSelector and a DaemonSet reach the right edges' MetaServers (edged is off: the pods are not run,
// only delivered, which is what the controllers and the scheduler are responsible for).
import { afterEach, describe, expect, it } from 'vitest';
import { fetchMetrics, kubectl, kubectlOk, metricSum, stopAll, waitFor } from './harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type EdgeCoreHandle } from './cluster';

afterEach(async () => {
  await stopAll();
});

/** MetaServer as the gateway's operator reaches it: the root-only kubeconfig edgecore writes (HTTPS, local credential). */
function metaServer(edge: EdgeCoreHandle): { kubeconfig: string } {
  const ready = edge.process.logs.find((l) => l.msg === 'edgecore ready');
  const kubeconfig = ready?.metaServerKubeconfig;
  if (typeof kubeconfig !== 'string') throw new Error('edgecore has not reported its MetaServer kubeconfig');
  return { kubeconfig };
}

async function podsAtEdge(edge: EdgeCoreHandle, selector: string): Promise<string[]> {
  const out = await kubectl(metaServer(edge), ['get', 'pods', '-n', 'default', '-l', selector, '-o', 'jsonpath={.items[*].metadata.name}']);
  return out.code === 0 ? out.stdout.split(' ').filter(Boolean).sort() : [];
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: plant-app}
spec:
  replicas: 2
  selector: {matchLabels: {app: plant-app}}
  template:
    metadata: {labels: {app: plant-app}}
    spec:
      nodeSelector: {site: plant}
      containers:
      - {name: app, image: localhost/kedge/busybox:1}
`;

const DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: edge-agent}
spec:
  selector: {matchLabels: {app: edge-agent}}
  template:
    metadata: {labels: {app: edge-agent}}
    spec:
      nodeSelector: {node-role.kubernetes.io/edge: ""}
      containers:
      - {name: agent, image: localhost/kedge/busybox:1}
`;

describe('workloads - end to end', () => {
  it('a Deployment with a nodeSelector lands on the matching edge, and a DaemonSet on both edges', async () => {
    const cloud = await startCloudCore();
    const admin = { kubeconfig: cloud.kubeconfig };
    const plant = startEdgeCore(cloud, { nodeName: 'gw-plant', token: await issueToken(cloud, ['--node', 'gw-plant']) });
    const office = startEdgeCore(cloud, { nodeName: 'gw-office', token: await issueToken(cloud, ['--node', 'gw-office']) });
    await cloud.process.waitForLog((l) => l.msg === 'workload controllers and scheduler running', 'controllers running');
    await cloud.process.waitForLog(isNodeConnected('gw-plant'), 'gw-plant session');
    await cloud.process.waitForLog(isNodeConnected('gw-office'), 'gw-office session');
    await waitFor(async () => (await kubectl(admin, ['get', 'node', 'gw-plant', 'gw-office'])).code === 0, 'both nodes registered');
    await waitFor(
      async () => (await kubectlOk(admin, ['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}'])).trim() === 'True True',
      'both nodes Ready',
    );
    await kubectlOk(admin, ['label', 'node', 'gw-plant', 'site=plant']);
    await plant.process.waitForLog((l) => l.msg === 'edgecore ready', 'gw-plant ready');
    await office.process.waitForLog((l) => l.msg === 'edgecore ready', 'gw-office ready');

    await kubectlOk(admin, ['apply', '-f', '-'], DEPLOYMENT);
    await waitFor(async () => (await podsAtEdge(plant, 'app=plant-app')).length === 2, 'both replicas at gw-plant MetaServer', { timeoutMs: 60_000 });
    const nodes = await kubectlOk(admin, ['get', 'pods', '-l', 'app=plant-app', '-o', 'jsonpath={.items[*].spec.nodeName}']);
    expect(nodes.trim().split(' ')).toEqual(['gw-plant', 'gw-plant']);
    expect(await podsAtEdge(office, 'app=plant-app')).toEqual([]);
    const cloudNames = (await kubectlOk(admin, ['get', 'pods', '-l', 'app=plant-app', '-o', 'jsonpath={.items[*].metadata.name}'])).trim().split(' ').sort();
    expect(await podsAtEdge(plant, 'app=plant-app')).toEqual(cloudNames);
    expect(await kubectlOk(admin, ['get', 'rs', '-l', 'app=plant-app', '-o', 'jsonpath={.items[*].metadata.name}'])).toMatch(/^plant-app-[a-z0-9]+$/);

    await kubectlOk(admin, ['apply', '-f', '-'], DAEMONSET);
    await waitFor(async () => (await podsAtEdge(plant, 'app=edge-agent')).length === 1 && (await podsAtEdge(office, 'app=edge-agent')).length === 1, 'a daemon pod at each edge', {
      timeoutMs: 60_000,
    });
    const daemonNodes = (await kubectlOk(admin, ['get', 'pods', '-l', 'app=edge-agent', '-o', 'jsonpath={.items[*].spec.nodeName}'])).trim().split(' ').sort();
    expect(daemonNodes).toEqual(['gw-office', 'gw-plant']);
    await waitFor(async () => (await kubectlOk(admin, ['get', 'ds', 'edge-agent', '-o', 'jsonpath={.status.desiredNumberScheduled}'])) === '2', 'desiredNumberScheduled 2');

    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricSum(metrics, 'kedge_scheduler_attempts_total', { result: 'scheduled' })).toBeGreaterThanOrEqual(2);
    expect(metricSum(metrics, 'kedge_workload_reconciles_total', { controller: 'deployment', result: 'success' })).toBeGreaterThan(0);
  });
});
