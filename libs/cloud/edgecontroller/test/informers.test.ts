// Informers survive the API server going away: they fail, are restarted with backoff, and pick up
// what changed once it is back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, createTestPki, metricValue, waitFor, type TestPki } from '@kedge/testkit';
import { startCloud } from './fixtures/cloud';
import { createNamespace, describeStore, holdsExactly, podSpec, registerNode } from './fixtures/kube';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

describe('edgecontroller informers - API server outage', () => {
  it('informers are restarted after the API server comes back and sync continues', async () => {
    const cloud = await startCloud(pki, cleanup, { controller: { informerBackoff: { initialMs: 50, maxMs: 200 } } });
    const edge = await cloud.edge('edge-a');
    await registerNode(edge);
    await createNamespace(cloud.core, 'apps');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('before', 'apps', 'edge-a') });
    await waitFor(() => edge.store.has('pod/apps/before'), 'the first pod to reach the edge');

    const restart = await cloud.stopApiServer();
    await waitFor(async () => (await metricValue(cloud.registry, 'kedge_edgecontroller_informer_restarts_total', { resource: 'pods' })) >= 2, 'the pod informer to fail and retry');
    await restart();

    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('after', 'apps', 'edge-a') });
    await cloud.core.deleteNamespacedPod({ namespace: 'apps', name: 'before', gracePeriodSeconds: 0 });
    await waitFor(() => holdsExactly(edge, cloud.core, ['node/null/edge-a', 'pod/apps/after']), 'the edge to follow changes made after the outage', {
      onTimeout: () => describeStore(edge),
    });
    expect(cloud.controller.stats().informers.every((i) => i.synced)).toBe(true);
  });
});
