// pods/ephemeralcontainers as kube-apiserver serves it: GET returns the pod; PUT and PATCH change only
// spec.ephemeralContainers, by additions that pass upstream's container rules; kubectl debug works
// through it; RBAC names the subresource, and a plain pod write cannot add one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type HttpResult, type TestServer } from './harness';

let test: TestServer;
const MALLORY_TOKEN = 'mallory-token-ephemeral-0123456789';

beforeAll(async () => {
  test = await startTestServer({ tokens: [{ token: MALLORY_TOKEN, user: 'mallory', groups: ['debuggers'] }] });
});

afterAll(async () => {
  await test.close();
});

const PODS = '/api/v1/namespaces/default/pods';
const SMP = 'application/strategic-merge-patch+json';

async function ok(result: Promise<HttpResult>, status: number): Promise<HttpResult> {
  const answer = await result;
  expect(answer.status, answer.text).toBe(status);
  return answer;
}

async function pod(name: string): Promise<HttpResult['json']> {
  return (await ok(test.request('GET', `${PODS}/${name}`), 200)).json;
}

async function createPod(name: string): Promise<void> {
  const spec = { nodeName: 'edge-1', initContainers: [{ name: 'init', image: 'busybox:1.36' }], containers: [{ name: 'app', image: 'busybox:1.36' }] };
  await ok(test.request('POST', PODS, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec } }), 201);
}

function addDebugger(name: string, container: Record<string, unknown>, token?: string): Promise<HttpResult> {
  return test.request('PATCH', `${PODS}/${name}/ephemeralcontainers`, { body: { spec: { ephemeralContainers: [container] } }, contentType: SMP, ...(token ? { token } : {}) });
}

describe('pods/ephemeralcontainers', () => {
  it('ephemeral - discovery and OpenAPI list the subresource with get, patch and update', async () => {
    const resources = (await test.request('GET', '/api/v1')).json.resources as Array<Record<string, unknown>>;
    expect(resources.find((resource) => resource['name'] === 'pods/ephemeralcontainers')).toEqual(
      expect.objectContaining({ kind: 'Pod', verbs: ['get', 'patch', 'update'] }),
    );
    const openapi = (await ok(test.request('GET', '/openapi/v3/api/v1'), 200)).json;
    expect(Object.keys(openapi.paths)).toContain('/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers');
  });

  it('ephemeral - a strategic merge patch adds a container with defaults; GET on the subresource returns the pod', async () => {
    await createPod('web');
    const patched = await ok(addDebugger('web', { name: 'dbg', image: 'busybox:1.36', targetContainerName: 'app', stdin: true, tty: true }), 200);
    expect(patched.json.kind).toBe('Pod');
    expect(patched.json.spec.ephemeralContainers).toEqual([
      expect.objectContaining({ name: 'dbg', targetContainerName: 'app', imagePullPolicy: 'IfNotPresent', terminationMessagePolicy: 'File' }),
    ]);
    const viaSubresource = (await ok(test.request('GET', `${PODS}/web/ephemeralcontainers`), 200)).json;
    expect(viaSubresource.spec.ephemeralContainers.map((c: { name: string }) => c.name)).toEqual(['dbg']);
    // a second one is added beside the first, which stays as it was
    await ok(addDebugger('web', { name: 'dbg2', image: 'busybox:1.36' }), 200);
    expect((await pod('web')).spec.ephemeralContainers.map((c: { name: string }) => c.name)).toEqual(['dbg', 'dbg2']);
  });

  it('ephemeral - the subresource changes nothing but spec.ephemeralContainers', async () => {
    await createPod('steady');
    const body = { metadata: { labels: { sneaky: 'yes' } }, spec: { containers: [{ name: 'app', image: 'evil:1' }], ephemeralContainers: [{ name: 'dbg', image: 'busybox:1.36' }] } };
    await ok(test.request('PATCH', `${PODS}/steady/ephemeralcontainers`, { body, contentType: SMP }), 200);
    const stored = await pod('steady');
    expect(stored.metadata.labels?.sneaky).toBeUndefined();
    expect(stored.spec.containers[0].image).toBe('busybox:1.36');
    expect(stored.spec.ephemeralContainers.map((c: { name: string }) => c.name)).toEqual(['dbg']);
  });

  it('ephemeral - upstream validation: unique names, forbidden fields, an existing target', async () => {
    await createPod('strict');
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ name: 'app', image: 'busybox:1.36' }, 'spec.ephemeralContainers[0].name', 'Duplicate value: "app"'],
      [{ name: 'init', image: 'busybox:1.36' }, 'spec.ephemeralContainers[0].name', 'Duplicate value: "init"'],
      [{ name: 'd1', image: 'busybox:1.36', ports: [{ containerPort: 80 }] }, 'spec.ephemeralContainers[0].ports', 'Forbidden: cannot be set for an Ephemeral Container'],
      [{ name: 'd2', image: 'busybox:1.36', readinessProbe: { exec: { command: ['true'] } } }, 'spec.ephemeralContainers[0].readinessProbe', 'Forbidden: cannot be set for an Ephemeral Container'],
      [{ name: 'd3', image: 'busybox:1.36', resources: { limits: { cpu: '1' } } }, 'spec.ephemeralContainers[0].resources', 'Forbidden: cannot be set for an Ephemeral Container'],
      [{ name: 'd4', image: 'busybox:1.36', lifecycle: { preStop: { exec: { command: ['true'] } } } }, 'spec.ephemeralContainers[0].lifecycle', 'Forbidden: cannot be set for an Ephemeral Container'],
      [{ name: 'd5', image: 'busybox:1.36', targetContainerName: 'ghost' }, 'spec.ephemeralContainers[0].targetContainerName', 'Not found: "ghost"'],
      [{ name: 'Bad_Name', image: 'busybox:1.36' }, 'spec.ephemeralContainers[0].name', 'Invalid value: "Bad_Name"'],
      [{ name: 'd6' }, 'spec.ephemeralContainers[0].image', 'Required value'],
    ];
    for (const [container, field, message] of cases) {
      const refused = await ok(addDebugger('strict', container), 422);
      expect(refused.json.details.causes, JSON.stringify(container)).toEqual(expect.arrayContaining([expect.objectContaining({ field, message: expect.stringContaining(message) })]));
      expect(refused.json.message).toContain('Pod "strict" is invalid');
    }
    expect((await pod('strict')).spec.ephemeralContainers).toBeUndefined();
  });

  it('ephemeral - existing entries may be neither removed nor changed (PUT of the subresource)', async () => {
    await createPod('sealed');
    await ok(addDebugger('sealed', { name: 'dbg', image: 'busybox:1.36' }), 200);
    const current = await pod('sealed');
    const removed = structuredClone(current);
    removed.spec.ephemeralContainers = [];
    const refusedRemove = await ok(test.request('PUT', `${PODS}/sealed/ephemeralcontainers`, { body: removed }), 422);
    expect(refusedRemove.json.message).toContain('existing ephemeral containers "dbg" may not be removed');
    const changed = structuredClone(current);
    changed.spec.ephemeralContainers[0].image = 'alpine:3';
    const refusedChange = await ok(test.request('PUT', `${PODS}/sealed/ephemeralcontainers`, { body: changed }), 422);
    expect(refusedChange.json.message).toContain('existing ephemeral containers "dbg" may not be changed');
    const added = structuredClone(current);
    added.spec.ephemeralContainers.push({ name: 'dbg2', image: 'alpine:3' });
    await ok(test.request('PUT', `${PODS}/sealed/ephemeralcontainers`, { body: added }), 200);
    expect((await pod('sealed')).spec.ephemeralContainers.map((c: { name: string }) => c.name)).toEqual(['dbg', 'dbg2']);
  });

  it('attack - an ephemeral container cannot be added (or removed) through a plain pod update or patch', async () => {
    await createPod('plain');
    const smuggled = await ok(test.request('PATCH', `${PODS}/plain`, { body: { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox:1.36' }] } }, contentType: SMP }), 422);
    expect(smuggled.json.details.causes).toEqual([expect.objectContaining({ field: 'spec.ephemeralContainers', reason: 'FieldValueForbidden' })]);
    const current = await pod('plain');
    current.spec.ephemeralContainers = [{ name: 'dbg', image: 'busybox:1.36' }];
    await ok(test.request('PUT', `${PODS}/plain`, { body: current }), 422);
    expect((await pod('plain')).spec.ephemeralContainers).toBeUndefined();
    // once added properly, a replace that leaves the list out keeps it, and one that empties it is refused
    await ok(addDebugger('plain', { name: 'dbg', image: 'busybox:1.36' }), 200);
    const withDebugger = await pod('plain');
    const { ephemeralContainers, ...rest } = withDebugger.spec;
    await ok(test.request('PUT', `${PODS}/plain`, { body: { ...withDebugger, metadata: { ...withDebugger.metadata, labels: { a: 'b' } }, spec: rest } }), 200);
    expect((await pod('plain')).spec.ephemeralContainers).toEqual(ephemeralContainers);
    await ok(test.request('PATCH', `${PODS}/plain`, { body: { spec: { ephemeralContainers: null } }, contentType: 'application/merge-patch+json' }), 200);
    expect((await pod('plain')).spec.ephemeralContainers).toEqual(ephemeralContainers);
  });

  it('attack - patch on pods does not allow adding an ephemeral container; patch on pods/ephemeralcontainers does', async () => {
    await createPod('guarded');
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-patcher' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch', 'update'] }],
    };
    await ok(test.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', { body: role }), 201);
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'debuggers' },
      subjects: [{ kind: 'Group', name: 'debuggers', apiGroup: 'rbac.authorization.k8s.io' }],
      roleRef: { kind: 'Role', name: 'pod-patcher', apiGroup: 'rbac.authorization.k8s.io' },
    };
    await ok(test.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', { body: binding }), 201);
    const refused = await ok(addDebugger('guarded', { name: 'dbg', image: 'busybox:1.36' }, MALLORY_TOKEN), 403);
    expect(refused.json.message).toContain('cannot patch resource "pods/ephemeralcontainers"');
    await ok(test.request('PATCH', `${PODS}/guarded`, { body: { spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox:1.36' }] } }, contentType: SMP, token: MALLORY_TOKEN }), 422);
    expect((await pod('guarded')).spec.ephemeralContainers).toBeUndefined();
    role.rules.push({ apiGroups: [''], resources: ['pods/ephemeralcontainers'], verbs: ['patch'] });
    await ok(test.request('PUT', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/pod-patcher', { body: role }), 200);
    await ok(addDebugger('guarded', { name: 'dbg', image: 'busybox:1.36' }, MALLORY_TOKEN), 200);
  });

  it('ephemeral - kubectl debug adds a debug container through the subresource', async () => {
    await createPod('kubectl-target');
    const result = await test.kubectl(['debug', 'kubectl-target', '--image=busybox:1.36', '-c', 'debugger', '--target=app', '--', 'sh', '-c', 'echo hi']);
    expect(result.code, result.stderr).toBe(0);
    const debuggers = (await pod('kubectl-target')).spec.ephemeralContainers;
    expect(debuggers).toEqual([expect.objectContaining({ name: 'debugger', image: 'busybox:1.36', targetContainerName: 'app', command: ['sh', '-c', 'echo hi'] })]);
    const again = await test.kubectl(['debug', 'kubectl-target', '--image=busybox:1.36', '-c', 'debugger', '--', 'true']);
    // whatever kubectl makes of a second container of the same name, the first one is never rewritten
    expect(again.stderr).not.toContain('panic');
    expect((await pod('kubectl-target')).spec.ephemeralContainers).toEqual(debuggers);
  });
});

describe('kubectl debug node/<name>', () => {
  it('ephemeral - the node debugger Pod kubectl sends as protobuf is decoded: host namespaces, hostPath /, tolerations', async () => {
    await ok(test.request('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'edge-9' } } }), 201);
    const result = await test.kubectl(['debug', 'node/edge-9', '--image=busybox:1.36', '--', 'sh', '-c', 'echo on-the-host']);
    expect(result.code, result.stderr).toBe(0);
    const name = /node-debugger-edge-9-[a-z0-9]+/.exec(result.stdout)?.[0];
    expect(name, result.stdout).toBeDefined();
    const created = await pod(name!);
    expect(created.spec).toEqual(
      expect.objectContaining({
        nodeName: 'edge-9', hostNetwork: true, hostPID: true, hostIPC: true, restartPolicy: 'Never',
        // (beside it, the service account volume admission adds)
        volumes: expect.arrayContaining([expect.objectContaining({ name: 'host-root', hostPath: { path: '/' } })]),
        tolerations: [expect.objectContaining({ operator: 'Exists' })],
      }),
    );
    expect(created.spec.containers[0]).toEqual(expect.objectContaining({ image: 'busybox:1.36', command: ['sh', '-c', 'echo on-the-host'], volumeMounts: expect.arrayContaining([expect.objectContaining({ mountPath: '/host' })]) }));
  });
});
