// Background behaviour: garbage collection through ownerReferences, namespace deletion, finalizers,
// CRDs coming and going (with their objects and discovery), watch bookmarks and initial events.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Watch } from '@kubernetes/client-node';
import { startTestServer, waitFor, type TestServer } from './harness';

let test: TestServer;

beforeEach(async () => {
  test = await startTestServer({ bookmarkIntervalMs: 100 });
});

afterEach(async () => {
  await test.close();
});

const exists = async (path: string): Promise<boolean> => (await test.request('GET', path)).status === 200;

async function createOwnerAndDependents(owner: string): Promise<string> {
  const created = await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: owner } } });
  const uid = created.json.metadata.uid as string;
  for (const dependent of [`${owner}-a`, `${owner}-b`]) {
    await test.request('POST', '/api/v1/namespaces/default/secrets', {
      body: { metadata: { name: dependent, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid }] } },
    });
  }
  return uid;
}

describe('garbage collection', () => {
  it('Background: dependents go after their owner', async () => {
    await createOwnerAndDependents('owner');
    await test.request('DELETE', '/api/v1/namespaces/default/configmaps/owner', { body: { propagationPolicy: 'Background' } });
    await waitFor(async () => !(await exists('/api/v1/namespaces/default/secrets/owner-a')) && !(await exists('/api/v1/namespaces/default/secrets/owner-b')), 'dependents to be collected');
  });

  it('Orphan: dependents stay and lose the reference; the owner goes after', async () => {
    await createOwnerAndDependents('parent');
    const response = await test.request('DELETE', '/api/v1/namespaces/default/configmaps/parent', { body: { propagationPolicy: 'Orphan' } });
    expect(response.json.metadata.finalizers).toEqual(['orphan']);
    await waitFor(async () => !(await exists('/api/v1/namespaces/default/configmaps/parent')), 'the owner to go');
    const dependent = await test.request('GET', '/api/v1/namespaces/default/secrets/parent-a');
    expect(dependent.status).toBe(200);
    expect(dependent.json.metadata.ownerReferences).toBeUndefined();
  });

  it('Foreground: the owner waits for its dependents', async () => {
    await createOwnerAndDependents('lead');
    const response = await test.request('DELETE', '/api/v1/namespaces/default/configmaps/lead', { body: { propagationPolicy: 'Foreground' } });
    expect(response.json.metadata.finalizers).toEqual(['foregroundDeletion']);
    await waitFor(async () => !(await exists('/api/v1/namespaces/default/configmaps/lead')), 'the owner to go');
    expect(await exists('/api/v1/namespaces/default/secrets/lead-a')).toBe(false);
  });

  it('a dependent keeps living while one of its owners remains, without the dangling reference', async () => {
    const first = await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'one' } } });
    const second = await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'two' } } });
    const owners = [first, second].map((owner) => ({ apiVersion: 'v1', kind: 'ConfigMap', name: owner.json.metadata.name, uid: owner.json.metadata.uid }));
    await test.request('POST', '/api/v1/namespaces/default/secrets', { body: { metadata: { name: 'shared', ownerReferences: owners } } });
    await test.request('DELETE', '/api/v1/namespaces/default/configmaps/one');
    await waitFor(async () => (await test.request('GET', '/api/v1/namespaces/default/secrets/shared')).json.metadata.ownerReferences?.length === 1, 'the dangling reference to go');
    expect(await exists('/api/v1/namespaces/default/secrets/shared')).toBe(true);
  });
});

describe('finalizers and namespaces', () => {
  it('a finalizer holds an object with deletionTimestamp until it is removed', async () => {
    await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const deleted = await test.request('DELETE', '/api/v1/namespaces/default/configmaps/held');
    expect(deleted.json.metadata.deletionTimestamp).toBeDefined();
    expect(await exists('/api/v1/namespaces/default/configmaps/held')).toBe(true);
    const added = await test.request('PATCH', '/api/v1/namespaces/default/configmaps/held', {
      body: { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } },
      contentType: 'application/merge-patch+json',
    });
    expect(added.status).toBe(422);
    await test.request('PATCH', '/api/v1/namespaces/default/configmaps/held', { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    expect(await exists('/api/v1/namespaces/default/configmaps/held')).toBe(false);
  });

  it('a deleted namespace is Terminating, refuses new content, loses its content, then goes', async () => {
    await test.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'doomed' } } });
    await waitFor(() => exists('/api/v1/namespaces/doomed/serviceaccounts/default'), 'the default service account');
    await test.request('POST', '/api/v1/namespaces/doomed/configmaps', { body: { metadata: { name: 'content' } } });
    await test.request('POST', '/api/v1/namespaces/doomed/configmaps', { body: { metadata: { name: 'slow', finalizers: ['example.com/slow'] } } });
    const deleting = await test.request('DELETE', '/api/v1/namespaces/doomed');
    expect(deleting.json.status.phase).toBe('Terminating');
    const refused = await test.request('POST', '/api/v1/namespaces/doomed/configmaps', { body: { metadata: { name: 'late' } } });
    expect(refused.status).toBe(403);
    expect(refused.json.message).toContain('unable to create new content in namespace doomed because it is being terminated');
    await waitFor(async () => !(await exists('/api/v1/namespaces/doomed/configmaps/content')), 'the content to go');
    expect(await exists('/api/v1/namespaces/doomed')).toBe(true);
    await test.request('PATCH', '/api/v1/namespaces/doomed/configmaps/slow', { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    await waitFor(async () => !(await exists('/api/v1/namespaces/doomed')), 'the namespace to go');
    const listed = await test.kubectl(['get', 'namespaces', '-o', 'name']);
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual(['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
  });
});

const CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'devices.devices.kubeedge.io' },
  spec: {
    group: 'devices.kubeedge.io',
    scope: 'Cluster',
    names: { plural: 'devices', singular: 'device', kind: 'Device' },
    versions: [{ name: 'v1beta1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

describe('custom resources', () => {
  it('serves a cluster-scoped CRD with a status subresource, and removes objects and discovery when it is deleted', async () => {
    await test.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: CRD });
    await waitFor(async () => {
      const crd = await test.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/devices.devices.kubeedge.io');
      return crd.json.status?.conditions?.some((condition: { type: string; status: string }) => condition.type === 'Established' && condition.status === 'True');
    }, 'the CRD to be established');
    const created = await test.request('POST', '/apis/devices.kubeedge.io/v1beta1/devices', { body: { metadata: { name: 'sensor' }, spec: { model: 'x' }, status: { ignored: true } } });
    expect(created.status).toBe(201);
    expect(created.json.status).toBeUndefined();
    const status = await test.request('PUT', '/apis/devices.kubeedge.io/v1beta1/devices/sensor/status', { body: { ...created.json, status: { twins: [1] } } });
    expect(status.json.status).toEqual({ twins: [1] });
    expect((await test.kubectl(['get', 'devices'])).stdout).toMatch(/^NAME\s+AGE\nsensor\s+/);
    expect((await test.kubectl(['api-resources', '--api-group=devices.kubeedge.io'])).stdout).toContain('devices');

    await test.request('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/devices.devices.kubeedge.io');
    await waitFor(async () => (await test.request('GET', '/apis/devices.kubeedge.io/v1beta1/devices')).status === 404, 'the resource to stop being served');
    expect((await test.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/devices.devices.kubeedge.io')).status).toBe(404);
    const groups = await test.request('GET', '/apis');
    expect(groups.json.groups.map((group: { name: string }) => group.name)).not.toContain('devices.kubeedge.io');
    expect(test.server.storage.list('/registry/devices.kubeedge.io/').items).toEqual([]);
  });

  it('serves established CRDs again after a restart', async () => {
    await test.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: CRD });
    await waitFor(async () => (await test.request('GET', '/apis/devices.kubeedge.io/v1beta1/devices')).status === 200, 'the CRD to be served');
    await test.request('POST', '/apis/devices.kubeedge.io/v1beta1/devices', { body: { metadata: { name: 'kept' } } });
    const { dataDir } = test;
    await test.server.close();
    const restarted = await startTestServer({ dataDir });
    try {
      const device = await restarted.request('GET', '/apis/devices.kubeedge.io/v1beta1/devices/kept');
      expect(device.status).toBe(200);
    } finally {
      await restarted.close();
    }
  });
});

describe('watch options', () => {
  it('sends BOOKMARK events when allowed, initial events with an end marker, and ends at timeoutSeconds', async () => {
    await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'first' } } });
    const events: { type: string; object: { metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> } } }[] = [];
    let done = false;
    await new Watch(test.kubeConfig()).watch(
      '/api/v1/namespaces/default/configmaps',
      { allowWatchBookmarks: true, sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan', timeoutSeconds: 1 },
      (type, object) => events.push({ type, object }),
      () => (done = true),
    );
    await waitFor(() => done, 'the watch to end at its timeout', 5000);
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'first' } } });
    expect(events[1]).toMatchObject({ type: 'BOOKMARK', object: { metadata: { annotations: { 'k8s.io/initial-events-end': 'true' } } } });
    expect(events.filter((event) => event.type === 'BOOKMARK').length).toBeGreaterThan(2);
  });
});
