// pods/binding: what a scheduler posts to assign a pod to a node, with upstream's conflicts and the
// PodScheduled condition; client-node's createNamespacedBinding and discovery both see it.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  await test.close();
});

const PODS = '/api/v1/namespaces/default/pods';

async function createPod(name: string, nodeName?: string): Promise<void> {
  const spec = { containers: [{ name: 'app', image: 'busybox:1.36' }], ...(nodeName === undefined ? {} : { nodeName }) };
  const created = await test.request('POST', PODS, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec } });
  expect(created.status).toBe(201);
}

describe('pods/binding', () => {
  it('pods/binding - a binding sets spec.nodeName and PodScheduled=True', async () => {
    await createPod('bind-me');
    const before = Number((await test.request('GET', `${PODS}/bind-me`)).json.metadata.resourceVersion);
    const core = test.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPodBinding({
      name: 'bind-me',
      namespace: 'default',
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { kind: 'Node', name: 'edge-1' } },
    });
    const pod = (await test.request('GET', `${PODS}/bind-me`)).json;
    expect(pod.spec.nodeName).toBe('edge-1');
    expect(pod.status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    // one write: no watcher ever sees the node without the condition
    expect(Number(pod.metadata.resourceVersion)).toBe(before + 1);
  });

  it('pods/binding - binding a pod that is already bound is a 409 naming the node', async () => {
    await createPod('already-bound', 'edge-2');
    const answer = await test.request('POST', `${PODS}/already-bound/binding`, { body: { kind: 'Binding', metadata: { name: 'already-bound' }, target: { name: 'edge-1' } } });
    expect(answer.status).toBe(409);
    expect(answer.json.message).toContain('already assigned to node "edge-2"');
  });

  it('pods/binding - a target that is not a Node or has no name is a 422', async () => {
    await createPod('bad-target');
    const noName = await test.request('POST', `${PODS}/bad-target/binding`, { body: { kind: 'Binding', target: { kind: 'Node' } } });
    expect(noName.status).toBe(422);
    expect(noName.json.message).toContain('target.name');
    const notNode = await test.request('POST', `${PODS}/bad-target/binding`, { body: { kind: 'Binding', target: { kind: 'Pod', name: 'x' } } });
    expect(notNode.status).toBe(422);
    expect(notNode.json.message).toContain('target.kind');
    expect((await test.request('GET', `${PODS}/bad-target`)).json.spec.nodeName).toBeUndefined();
  });

  it('pods/binding - only POST is served and discovery lists it with kind Binding', async () => {
    expect((await test.request('GET', `${PODS}/bind-me/binding`)).status).toBe(405);
    const resources = (await test.request('GET', '/api/v1')).json.resources as Array<{ name: string; kind: string; verbs: string[] }>;
    expect(resources.find((resource) => resource.name === 'pods/binding')).toMatchObject({ kind: 'Binding', verbs: ['create'] });
  });
});
