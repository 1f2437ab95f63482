// The kubelet API cloudcore serves for edge nodes, dialled directly as kube-apiserver and metrics-server
// dial a kubelet: who may call it (client certificates of the cloud CA, TokenReview, SubjectAccessReview
// on nodes/<subresource>), which node a port serves, the read endpoints, and an edge that goes away in
// the middle of `kubectl logs -f` and `kubectl exec`. Real embedded API server, real kubectl, real containerd.
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { createCertificateAuthority, issueClientCertificate } from '@kedge/pki';
import { PRIVATE_CONTAINERD_NEEDS } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kubectl, kubectlOk, waitFor } from './harness';
import { CONTAINER, GHOST_NODE, NODE, POD, podManifest, startStreamsWorld, type StreamsWorld } from './streams-fixture';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');

interface Answer {
  status: number;
  text: string;
  json: { message?: string; reason?: string; code?: number } | undefined;
}

interface Credentials {
  token?: string;
  cert?: { certPem: string; keyPem: string };
}

/** A GET on the kubelet API port of `node`, verifying its serving certificate against the cloud CA. */
function kubeletGet(world: StreamsWorld, node: string, path: string, credentials: Credentials = {}): Promise<Answer> {
  const endpoint = world.kubeletApi.endpointOf(node);
  if (endpoint === undefined) throw new Error(`no kubelet API port for ${node}`);
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        host: endpoint.address,
        port: endpoint.port,
        path,
        method: 'GET',
        ca: world.pki.ca,
        ...(credentials.cert ? { cert: credentials.cert.certPem, key: credentials.cert.keyPem } : {}),
        headers: credentials.token ? { authorization: `Bearer ${credentials.token}` } : {},
        agent: false,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => {
          let json: Answer['json'];
          try {
            json = JSON.parse(text) as Answer['json'];
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const LOGS = `/containerLogs/default/${POD}/${CONTAINER}?tailLines=1`;
const EXEC = `/exec/default/${POD}/${CONTAINER}?command=id&output=1`;

needs.describe('kubelet API - who may call it, and for which node', () => {
  let world: StreamsWorld;
  let admin: { kubeconfig: string };
  let apiClient: { certPem: string; keyPem: string };
  let proxyToken: string;
  let statsToken: string;
  let plainToken: string;

  beforeAll(async () => {
    world = await startStreamsWorld();
    admin = { kubeconfig: world.apiServer.adminKubeconfigPath };
    await kubectlOk(admin, ['create', '-f', '-'], podManifest(POD, NODE));
    await kubectlOk(admin, ['create', '-f', '-'], podManifest('elsewhere', 'edge-b'));
    await world.registerNode('edge-b');
    apiClient = await issueClientCertificate(world.pki.authority, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
    for (const account of ['proxy', 'stats', 'plain']) await kubectlOk(admin, ['create', 'serviceaccount', account]);
    await kubectlOk(admin, ['create', 'clusterrole', 'node-proxy', '--verb=get,create', '--resource=nodes/proxy']);
    await kubectlOk(admin, ['create', 'clusterrolebinding', 'proxy', '--clusterrole=node-proxy', '--serviceaccount=default:proxy']);
    await kubectlOk(admin, ['create', 'clusterrole', 'node-stats', '--verb=get', '--resource=nodes/stats']);
    await kubectlOk(admin, ['create', 'clusterrolebinding', 'stats', '--clusterrole=node-stats', '--serviceaccount=default:stats']);
    proxyToken = world.apiServer.createServiceAccountToken('default', 'proxy');
    statsToken = world.apiServer.createServiceAccountToken('default', 'stats');
    plainToken = world.apiServer.createServiceAccountToken('default', 'plain');
    // the read endpoints are another module's; here a fixed implementation shows the routing
    world.kubeletApi.setReadEndpoints({
      pods: async (node) => ({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: `pod-of-${node}` } }] }),
      summary: async (node) => ({ node: { nodeName: node, cpu: { usageNanoCores: 1 } }, pods: [] }),
      resourceMetrics: async (node) => `node_cpu_usage_seconds_total{node="${node}"} 2\n`,
    });
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  it('kubelet API - the API server\'s client certificate reads logs and healthz; a node without a session is 503', async () => {
    const logs = await kubeletGet(world, NODE, LOGS, { cert: apiClient });
    expect(logs.status, logs.text).toBe(200);
    expect(logs.text.trim().split('\n')).toHaveLength(1);
    expect((await kubeletGet(world, NODE, '/healthz', { cert: apiClient })).text).toBe('ok');
    const ghost = await kubeletGet(world, GHOST_NODE, '/healthz', { cert: apiClient });
    expect(ghost.status).toBe(503);
    expect(ghost.json?.message).toBe(`edge node "${GHOST_NODE}" has no live session with cloudcore`);
  });

  it('attack - no credentials is 401', async () => {
    for (const path of [LOGS, EXEC, '/healthz', '/stats/summary', '/pods']) {
      const answer = await kubeletGet(world, NODE, path);
      expect(answer.status, path).toBe(401);
      expect(answer.json).toMatchObject({ reason: 'Unauthorized', code: 401 });
    }
  });

  it('attack - a client certificate of another CA is refused, even with a system:masters subject', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'impostor-ca' });
    const forged = await issueClientCertificate(otherCa, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
    const answer = await kubeletGet(world, NODE, LOGS, { cert: forged });
    expect(answer.status).toBe(401);
    expect(answer.json?.message).toContain('not signed by the kubelet API\'s client CA');
    // a token beside it does not rescue a bad certificate
    expect((await kubeletGet(world, NODE, LOGS, { cert: forged, token: proxyToken })).status).toBe(401);
  });

  it('attack - a forged bearer token is 401; the edge\'s own node certificate is no pass to its pods', async () => {
    expect((await kubeletGet(world, NODE, LOGS, { token: `${proxyToken.slice(0, -4)}AAAA` })).status).toBe(401);
    const nodeTls = await world.pki.node(NODE);
    const asNode = await kubeletGet(world, NODE, LOGS, { cert: { certPem: nodeTls.cert, keyPem: nodeTls.key } });
    expect(asNode.status).toBe(403);
    expect(asNode.json?.message).toContain(`user=system:node:${NODE}`);
  });

  it('attack - a ServiceAccount without nodes/proxy gets 403 for logs and exec; nodes/stats reads /stats/summary only', async () => {
    for (const token of [plainToken, statsToken]) {
      const logs = await kubeletGet(world, NODE, LOGS, { token });
      expect(logs.status).toBe(403);
      expect(logs.json?.message).toMatch(/^Forbidden \(user=system:serviceaccount:default:(plain|stats), verb=get, resource=nodes, subresource=proxy, node=edge-streams\)/);
      expect((await kubeletGet(world, NODE, EXEC, { token })).status).toBe(403);
    }
    const summary = await kubeletGet(world, NODE, '/stats/summary', { token: statsToken });
    expect(summary.status, summary.text).toBe(200);
    expect(summary.json).toMatchObject({ node: { nodeName: NODE } });
    const metrics = await kubeletGet(world, NODE, '/metrics/resource', { token: statsToken });
    expect(metrics.status).toBe(403);
    expect(metrics.json?.message).toContain('subresource=metrics');
    expect((await kubeletGet(world, NODE, '/stats/summary', { token: plainToken })).status).toBe(403);
    // nodes/proxy reads the pod's log
    expect((await kubeletGet(world, NODE, LOGS, { token: proxyToken })).status).toBe(200);
    expect(await world.kubeletApi.metrics.refused.get()).toMatchObject({
      values: expect.arrayContaining([expect.objectContaining({ labels: { reason: 'forbidden' } }), expect.objectContaining({ labels: { reason: 'no-credentials' } })]),
    });
  });

  it('attack - node A\'s port does not serve a pod of node B', async () => {
    const answer = await kubeletGet(world, NODE, `/containerLogs/default/elsewhere/${CONTAINER}`, { cert: apiClient });
    expect(answer.status).toBe(404);
    expect(answer.json?.message).toBe(`pod "default/elsewhere" does not run on node "${NODE}" (this port is node "${NODE}"'s kubelet API)`);
    const execElsewhere = await kubeletGet(world, 'edge-b', `/containerLogs/default/${POD}/${CONTAINER}`, { cert: apiClient });
    expect(execElsewhere.status).toBe(404);
    expect(execElsewhere.json?.message).toContain('does not run on node "edge-b"');
  });

  it('kubelet API - exec over SPDY/3.1 (what kube-apiserver up to 1.35 sends a kubelet): output, stderr, stdin, exit code', async () => {
    // kubectl falls back to SPDY when told to; the embedded API server pipes it to the kubelet API unchanged
    const spdyKubectl = (args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> => {
      const child = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdin.end(input);
      return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
    };
    const exec = await spdyKubectl(['exec', '-v=8', POD, '--', 'sh', '-c', 'echo over-spdy; echo to-err >&2; exit 3']);
    expect(exec.stdout).toBe('over-spdy\n');
    expect(exec.stderr).toContain('to-err');
    // it really was SPDY: kubectl logs the SPDY stream protocol it was answered with
    expect(exec.stderr).toMatch(/X-Stream-Protocol-Version: v4\.channel\.k8s\.io/);
    expect(exec.code).toBe(3);
    const piped = await spdyKubectl(['exec', '-i', POD, '--', 'sh', '-c', 'head -n 1'], 'piped-over-spdy\n');
    expect(piped.stdout).toBe('piped-over-spdy\n');
    expect(piped.code).toBe(0);
    expect((await world.cloudStream.table.metrics.refusedFrames.get()).values).toEqual([]);
  });

  it('kubelet API - read endpoints answer for the node of the port; bad paths and parameters name what is wrong', async () => {
    const pods = await kubeletGet(world, NODE, '/pods', { cert: apiClient });
    expect(pods.json).toMatchObject({ kind: 'PodList', items: [{ metadata: { name: `pod-of-${NODE}` } }] });
    expect((await kubeletGet(world, NODE, '/metrics/resource', { cert: apiClient })).text).toBe(`node_cpu_usage_seconds_total{node="${NODE}"} 2\n`);
    expect((await kubeletGet(world, NODE, '/no/such/path', { cert: apiClient })).status).toBe(404);
    const badTail = await kubeletGet(world, NODE, `/containerLogs/default/${POD}/${CONTAINER}?tailLines=-3`, { cert: apiClient });
    expect(badTail.status).toBe(400);
    expect(badTail.json?.message).toBe('query parameter tailLines: "-3" is not a non-negative integer');
    const badFollow = await kubeletGet(world, NODE, `/containerLogs/default/${POD}/${CONTAINER}?follow=maybe`, { cert: apiClient });
    expect(badFollow.json?.message).toContain('query parameter follow: "maybe" is not a boolean');
    world.kubeletApi.setReadEndpoints(undefined);
    const none = await kubeletGet(world, NODE, '/stats/summary', { cert: apiClient });
    expect(none.status).toBe(501);
    expect(none.json?.message).toContain('no node read endpoints configured');
  });
});

needs.describe('kubelet API - an edge that goes away mid-stream', () => {
  let world: StreamsWorld;
  let admin: { kubeconfig: string };

  beforeAll(async () => {
    world = await startStreamsWorld();
    admin = { kubeconfig: world.apiServer.adminKubeconfigPath };
    await kubectlOk(admin, ['create', '-f', '-'], podManifest(POD, NODE));
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  it('kubelet API - losing the edge ends kubectl logs -f and kubectl exec with the node\'s Status', async () => {
    const follow = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'logs', '-f', POD], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exec = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'exec', POD, '--', 'sh', '-c', 'echo exec-started; sleep 300'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const outputs = { follow: '', exec: '', execErr: '' };
    follow.stdout.on('data', (c: Buffer) => (outputs.follow += c.toString()));
    exec.stdout.on('data', (c: Buffer) => (outputs.exec += c.toString()));
    exec.stderr.on('data', (c: Buffer) => (outputs.execErr += c.toString()));
    const exited = (child: typeof follow) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const followExit = exited(follow);
    const execExit = exited(exec);
    try {
      await waitFor(() => outputs.follow.includes('line-two') && outputs.exec.includes('exec-started'), 'logs -f and exec running');
      world.disconnectEdge();
      const [followCode, execCode] = await Promise.all([followExit, execExit]);
      // the log body had started, so no Status can follow: the stream is cut, as by a kubelet that goes away
      expect(followCode).toBe(1);
      // exec ends with the Failure Status on its error channel
      expect(execCode).not.toBe(0);
      expect(outputs.execErr).toBe(`error: edge node "${NODE}" disconnected\n`);
    } finally {
      for (const child of [follow, exec]) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }
    await waitFor(() => world.cloudStream.table.countFor(NODE) === 0, 'no stream left for the node');
    const logs = await kubectl(admin, ['logs', POD]);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain(`edge node "${NODE}" has no live session with cloudcore`);
  });
});

