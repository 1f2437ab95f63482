// pods/eviction with PodDisruptionBudgets, as kube-apiserver's EvictionREST: allowed evictions take a
// disruption from the budget and delete the pod gracefully, refused ones are 429 with upstream's words;
// terminal pods skip the budget; dry runs and preconditions are honoured; JSON and protobuf bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@kedge/telemetry';
import { spawnKubectl, startTestServer, waitFor, type HttpResult, type TestServer } from './harness';
import { bytesField, kubernetesEnvelope, objectMeta, varintField } from './protobuf-encoder';

let test: TestServer;
const MALLORY_TOKEN = 'mallory-token-0123456789abcdef';

beforeAll(async () => {
  test = await startTestServer({ tokens: [{ token: MALLORY_TOKEN, user: 'mallory', groups: ['operators'] }], metricsRegistry: createMetricsRegistry() });
});

afterAll(async () => {
  await test.close();
});

const PODS = '/api/v1/namespaces/default/pods';
const BUDGETS = '/apis/policy/v1/namespaces/default/poddisruptionbudgets';
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

async function ok(result: Promise<HttpResult>, status: number): Promise<HttpResult> {
  const answer = await result;
  expect(answer.status, answer.text).toBe(status);
  return answer;
}

/** A pod bound to a node, Running and Ready (or not), as its kubelet would have reported it. */
async function runningPod(name: string, labels: Record<string, string>, options: { ready?: boolean; phase?: string } = {}): Promise<void> {
  const spec = { nodeName: 'edge-1', containers: [{ name: 'app', image: 'busybox:1.36' }] };
  await ok(test.request('POST', PODS, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec } }), 201);
  const status = { phase: options.phase ?? 'Running', conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] };
  await ok(test.request('PATCH', `${PODS}/${name}/status`, { body: { status }, contentType: 'application/merge-patch+json' }), 200);
}

/** A budget whose status says what a disruption controller would have computed. */
async function budget(name: string, spec: Record<string, unknown>, status: Record<string, unknown>): Promise<void> {
  await ok(test.request('POST', BUDGETS, { body: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec } }), 201);
  await ok(test.request('PATCH', `${BUDGETS}/${name}/status`, { body: { status: { observedGeneration: 1, ...status } }, contentType: 'application/merge-patch+json' }), 200);
}

function evict(name: string, body: Record<string, unknown> = {}, query = ''): Promise<HttpResult> {
  return test.request('POST', `${PODS}/${name}/eviction${query}`, { body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name }, ...body } });
}

async function pod(name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await test.request('GET', `${PODS}/${name}`)).json;
}

async function budgetStatus(name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await test.request('GET', `${BUDGETS}/${name}`)).json.status;
}

describe('pods/eviction', () => {
  it('eviction - a budget that allows a disruption is decremented, records the pod and the pod is deleted gracefully', async () => {
    await runningPod('allow-1', { app: 'allow' });
    await runningPod('allow-2', { app: 'allow' });
    await budget('allow', { minAvailable: 1, selector: { matchLabels: { app: 'allow' } } }, { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
    const answer = await ok(evict('allow-1'), 201);
    expect(answer.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    expect((await pod('allow-1')).metadata.deletionTimestamp).toBeDefined();
    const status = await budgetStatus('allow');
    expect(status.disruptionsAllowed).toBe(0);
    expect(Object.keys(status.disruptedPods)).toEqual(['allow-1']);
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' }));
  });

  it('eviction - a budget with no disruption left answers 429 with the budget named, and the pod stays', async () => {
    await runningPod('deny-1', { app: 'deny' });
    await budget('deny', { minAvailable: 1, selector: { matchLabels: { app: 'deny' } } }, { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 });
    const answer = await ok(evict('deny-1'), 429);
    expect(answer.json.reason).toBe('TooManyRequests');
    expect(answer.json.message).toBe("Cannot evict pod as it would violate the pod's disruption budget.");
    expect(answer.json.details.causes).toEqual([{ reason: 'DisruptionBudget', message: 'The disruption budget deny needs 1 healthy pods and has 1 currently' }]);
    expect(answer.headers['retry-after']).toBeUndefined();
    expect((await pod('deny-1')).metadata.deletionTimestamp).toBeUndefined();
  });

  it('eviction - a budget its controller has not seen yet (observedGeneration behind) is 429 with Retry-After', async () => {
    await runningPod('stale-1', { app: 'stale' });
    await budget('stale', { maxUnavailable: 1, selector: { matchLabels: { app: 'stale' } } }, { observedGeneration: 0, disruptionsAllowed: 1 });
    const answer = await ok(evict('stale-1'), 429);
    expect(answer.headers['retry-after']).toBe('10');
    expect(answer.json.details.causes[0].message).toBe('The disruption budget stale is still being processed by the server.');
  });

  it('eviction - terminal and pending pods are deleted without consulting the budget', async () => {
    await runningPod('done-1', { app: 'done' }, { phase: 'Succeeded', ready: false });
    await runningPod('pending-1', { app: 'done' }, { phase: 'Pending', ready: false });
    await budget('done', { minAvailable: '100%', selector: { matchLabels: { app: 'done' } } }, { disruptionsAllowed: 0 });
    await ok(evict('done-1'), 201);
    expect((await test.request('GET', `${PODS}/done-1`)).status).toBe(404); // finished pods go at once
    await ok(evict('pending-1'), 201);
    expect((await budgetStatus('done')).disruptionsAllowed).toBe(0);
  });

  it('eviction - a not-ready pod goes without taking a disruption while the budget is healthy, or always with AlwaysAllow', async () => {
    await runningPod('sick-1', { app: 'sick' }, { ready: false });
    await budget('sick', { minAvailable: 1, selector: { matchLabels: { app: 'sick' } } }, { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1 });
    await ok(evict('sick-1'), 201);
    expect((await budgetStatus('sick')).disruptedPods).toBeUndefined();
    await runningPod('sick-2', { app: 'sick2' }, { ready: false });
    await budget('sick2', { minAvailable: 1, unhealthyPodEvictionPolicy: 'IfHealthyBudget', selector: { matchLabels: { app: 'sick2' } } }, { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 1 });
    await ok(evict('sick-2'), 429);
    await budget('sick3', { minAvailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow', selector: { matchLabels: { app: 'sick3' } } }, { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 1 });
    await runningPod('sick-3', { app: 'sick3' }, { ready: false });
    await ok(evict('sick-3'), 201);
  });

  it('eviction - a pod selected by two budgets is a 500 Status, as upstream', async () => {
    await runningPod('two-1', { app: 'two', tier: 'x' });
    await budget('two-a', { minAvailable: 0, selector: { matchLabels: { app: 'two' } } }, { disruptionsAllowed: 1 });
    await budget('two-b', { minAvailable: 0, selector: { matchLabels: { tier: 'x' } } }, { disruptionsAllowed: 1 });
    const answer = await ok(evict('two-1'), 500);
    expect(answer.json.message).toBe('This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    expect((await pod('two-1')).metadata.deletionTimestamp).toBeUndefined();
  });

  it('eviction - the name must match the URL, the body must be an Eviction, and a missing pod is 404', async () => {
    await runningPod('named-1', { app: 'named' });
    const mismatch = await ok(test.request('POST', `${PODS}/named-1/eviction`, { body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'other' } } }), 400);
    expect(mismatch.json.message).toBe('name in URL does not match name in Eviction object');
    const wrongKind = await ok(test.request('POST', `${PODS}/named-1/eviction`, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'named-1' } } }), 400);
    expect(wrongKind.json.message).toContain('must be an Eviction');
    await ok(evict('no-such-pod'), 404);
    await ok(test.request('GET', `${PODS}/named-1/eviction`), 405);
    expect((await pod('named-1')).metadata.deletionTimestamp).toBeUndefined();
  });

  it('eviction - a dry run (query or deleteOptions) checks the budget and changes nothing', async () => {
    await runningPod('dry-1', { app: 'dry' });
    await budget('dry', { maxUnavailable: 1, selector: { matchLabels: { app: 'dry' } } }, { disruptionsAllowed: 1, currentHealthy: 1, desiredHealthy: 0 });
    await ok(evict('dry-1', {}, '?dryRun=All'), 201);
    await ok(evict('dry-1', { deleteOptions: { dryRun: ['All'] } }), 201);
    await ok(evict('dry-1', { deleteOptions: { dryRun: ['All'] } }, '?dryRun=Some'), 422);
    expect((await pod('dry-1')).metadata.deletionTimestamp).toBeUndefined();
    expect((await budgetStatus('dry')).disruptionsAllowed).toBe(1);
  });

  it('eviction - failed preconditions are a 409 and leave the budget untouched; gracePeriodSeconds is honoured', async () => {
    await runningPod('pre-1', { app: 'pre' });
    await budget('pre', { maxUnavailable: 1, selector: { matchLabels: { app: 'pre' } } }, { disruptionsAllowed: 1, currentHealthy: 1 });
    const uid = await ok(evict('pre-1', { deleteOptions: { preconditions: { uid: 'not-the-uid' } } }), 409);
    expect(uid.json.message).toContain('Precondition failed: UID in precondition: not-the-uid');
    await ok(evict('pre-1', { deleteOptions: { preconditions: { resourceVersion: '1' } } }), 409);
    expect((await budgetStatus('pre')).disruptionsAllowed).toBe(1);
    const current = await pod('pre-1');
    await ok(evict('pre-1', { deleteOptions: { gracePeriodSeconds: 7, preconditions: { uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion } } }), 201);
    expect((await pod('pre-1')).metadata.deletionGracePeriodSeconds).toBe(7);
  });

  it('attack - concurrent evictions cannot both take the last disruption of a budget', async () => {
    const names = ['race-1', 'race-2', 'race-3', 'race-4'];
    for (const name of names) await runningPod(name, { app: 'race' });
    await budget('race', { minAvailable: 3, selector: { matchLabels: { app: 'race' } } }, { disruptionsAllowed: 1, currentHealthy: 4, desiredHealthy: 3 });
    const answers = await Promise.all(names.map((name) => evict(name)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 429, 429, 429]);
    const deleting = (await Promise.all(names.map(pod))).filter((object) => object.metadata.deletionTimestamp !== undefined);
    expect(deleting).toHaveLength(1);
    expect(Object.keys((await budgetStatus('race')).disruptedPods)).toEqual([deleting[0].metadata.name]);
  });

  it('attack - evicting needs create on pods/eviction; get and delete on pods are not enough', async () => {
    await runningPod('guarded-1', { app: 'guarded' });
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'delete'] }] };
    await ok(test.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', { body: role }), 201);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'operators-read' },
      subjects: [{ kind: 'Group', name: 'operators', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'Role', name: 'pod-reader', apiGroup: 'rbac.authorization.k8s.io' },
    };
    await ok(test.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', { body: binding }), 201);
    const body = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'guarded-1' } };
    const refused = await ok(test.request('POST', `${PODS}/guarded-1/eviction`, { body, token: MALLORY_TOKEN }), 403);
    expect(refused.json.message).toContain('cannot create resource "pods/eviction"');
    expect((await pod('guarded-1')).metadata.deletionTimestamp).toBeUndefined();
    role.rules.push({ apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] });
    await ok(test.request('PUT', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/pod-reader', { body: role }), 200);
    await ok(test.request('POST', `${PODS}/guarded-1/eviction`, { body, token: MALLORY_TOKEN }), 201);
  });

  it('eviction - protobuf Evictions of policy/v1 and policy/v1beta1 are decoded with their DeleteOptions', async () => {
    await runningPod('proto-1', { app: 'proto' });
    await runningPod('proto-2', { app: 'proto' });
    // Eviction{metadata=1, deleteOptions=2{gracePeriodSeconds=1, preconditions=2{uid=1}, dryRun=5}}
    const dry = kubernetesEnvelope('policy/v1', 'Eviction', [objectMeta('proto-1', 'default'), bytesField(2, [varintField(1, 0), bytesField(5, 'All')])]);
    await ok(test.request('POST', `${PODS}/proto-1/eviction`, { body: dry, contentType: PROTOBUF }), 201);
    expect((await pod('proto-1')).metadata.deletionTimestamp).toBeUndefined();
    const uid = (await pod('proto-1')).metadata.uid as string;
    const wrongUid = kubernetesEnvelope('policy/v1', 'Eviction', [objectMeta('proto-1'), bytesField(2, [bytesField(2, [bytesField(1, 'nope')])])]);
    await ok(test.request('POST', `${PODS}/proto-1/eviction`, { body: wrongUid, contentType: PROTOBUF }), 409);
    // gracePeriodSeconds 0 is a pointer field: sent as 0, it means "now", and the bound pod is gone at once
    const now = kubernetesEnvelope('policy/v1beta1', 'Eviction', [objectMeta('proto-1'), bytesField(2, [varintField(1, 0), bytesField(2, [bytesField(1, uid)])])]);
    await ok(test.request('POST', `${PODS}/proto-1/eviction`, { body: now, contentType: PROTOBUF }), 201);
    expect((await test.request('GET', `${PODS}/proto-1`)).status).toBe(404);
    const plain = kubernetesEnvelope('policy/v1', 'Eviction', [objectMeta('proto-2')]);
    await ok(test.request('POST', `${PODS}/proto-2/eviction`, { body: plain, contentType: PROTOBUF }), 201);
    expect((await pod('proto-2')).metadata.deletionGracePeriodSeconds).toBe(30);
  });

  it('eviction - malformed protobuf is a 400 naming the field; kinds without a schema are 415', async () => {
    await runningPod('junk-1', { app: 'junk' });
    // inside deleteOptions (field 2), preconditions (its field 2) claims 50 bytes and 2 follow
    const broken = kubernetesEnvelope('policy/v1', 'Eviction', [objectMeta('junk-1'), Buffer.from([0x12, 0x04, 0x12, 0x32, 0x0a, 0x01])]);
    const bad = await ok(test.request('POST', `${PODS}/junk-1/eviction`, { body: broken, contentType: PROTOBUF }), 400);
    expect(bad.json.message).toBe('the request body is not a valid Kubernetes protobuf message: Eviction.deleteOptions: field 2 runs past the end of the message');
    expect(bad.json.details.causes[0].field).toBe('Eviction.deleteOptions');
    const unknownField = kubernetesEnvelope('policy/v1', 'Eviction', [objectMeta('junk-1'), bytesField(9, 'x')]);
    const unsupported = await ok(test.request('POST', `${PODS}/junk-1/eviction`, { body: unknownField, contentType: PROTOBUF }), 415);
    expect(unsupported.json.message).toContain('field number 9 of Eviction');
    expect((await pod('junk-1')).metadata.deletionTimestamp).toBeUndefined();
    const metrics = await test.request('GET', '/metrics');
    expect(metrics.text).toMatch(/apiserver_rejected_requests_total\{reason="400"\} [1-9]/);
  });

  it('eviction - discovery lists pods/eviction as policy/v1 Eviction (what kubectl drain looks for)', async () => {
    const resources = (await test.request('GET', '/api/v1')).json.resources as Array<Record<string, unknown>>;
    expect(resources.find((resource) => resource['name'] === 'pods/eviction')).toEqual(
      expect.objectContaining({ group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] }),
    );
  });

  it('eviction - kubectl drain evicts through the subresource, retries while the budget says 429, and finishes once it allows', async () => {
    await ok(test.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'drain-node' } } }), 201);
    for (const name of ['drain-a', 'drain-b']) {
      const spec = { nodeName: 'drain-node', containers: [{ name: 'app', image: 'busybox:1.36' }] };
      await ok(test.request('POST', PODS, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } }, spec } }), 201);
      const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] };
      await ok(test.request('PATCH', `${PODS}/${name}/status`, { body: { status }, contentType: 'application/merge-patch+json' }), 200);
    }
    await budget('drain-b', { minAvailable: 1, selector: { matchLabels: { app: 'drain-b' } } }, { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 });
    // the node's kubelet: confirms every graceful delete of a pod on drain-node
    let playing = true;
    const kubelet = (async () => {
      while (playing) {
        const pods = (await test.request('GET', `${PODS}?fieldSelector=spec.nodeName=drain-node`)).json.items as Array<{ metadata: { name: string; deletionTimestamp?: string } }>;
        for (const item of pods.filter((entry) => entry.metadata.deletionTimestamp !== undefined)) {
          await test.request('DELETE', `${PODS}/${item.metadata.name}`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } });
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const drain = spawnKubectl(test, ['drain', 'drain-node', '--force', '--timeout=90s']);
    try {
      await waitFor(() => drain.output().includes('will retry after 5s'), 'kubectl drain told of the 429 and retrying', 30_000);
      expect(drain.output()).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
      await waitFor(async () => (await test.request('GET', `${PODS}/drain-a`)).status === 404, 'drain-a evicted and confirmed', 30_000);
      expect((await pod('drain-b')).metadata.deletionTimestamp).toBeUndefined();
      await ok(test.request('PATCH', `${BUDGETS}/drain-b/status`, { body: { status: { disruptionsAllowed: 1 } }, contentType: 'application/merge-patch+json' }), 200);
      const code = await new Promise<number | null>((resolve) => drain.child.on('exit', resolve));
      expect(code, drain.output()).toBe(0);
      expect(drain.output()).toContain('node/drain-node drained');
      expect((await test.request('GET', '/api/v1/nodes/drain-node')).json.spec.unschedulable).toBe(true);
    } finally {
      playing = false;
      await kubelet;
      if (drain.child.exitCode === null) drain.child.kill();
    }
    const uncordon = await test.kubectl(['uncordon', 'drain-node']);
    expect(uncordon.stdout).toContain('node/drain-node uncordoned');
  });
});
