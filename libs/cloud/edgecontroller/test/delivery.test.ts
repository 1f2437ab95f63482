// Reliable delivery: unacked messages are resent, ACKs stop resends, and the in-flight window
// holds back the rest until ACKs come.
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('edgecontroller delivery - acknowledgements', () => {
  it('an unacked message is resent with the same id until the edge ACKs it, then never again', async () => {
    const cloud = await startCloud(pki, cleanup, { controller: { resendIntervalMs: 100 } });
    const edge = await cloud.edge('edge-a', { autoAck: false });
    await registerNode(edge);
    await createNamespace(cloud.core, 'apps');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });

    const podMessages = () => edge.received.filter((m) => m.key === 'pod/apps/p1');
    await waitFor(() => podMessages().length >= 3, 'the pod to be sent and resent twice');
    expect(new Set(podMessages().map((m) => m.msgId)).size).toBe(1);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_resent_total')).toBeGreaterThanOrEqual(2);

    edge.autoAck = true;
    await edge.ackAll();
    await waitFor(() => cloud.controller.stats().nodes.find((n) => n.node === 'edge-a')?.inFlight === 0, 'every message to be acked');
    const settled = edge.received.length;
    await sleep(500); // five resend intervals: any resend would show up
    expect(edge.received.length).toBe(settled);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_acked_total')).toBeGreaterThanOrEqual(2);
  });

  it('at most maxInFlight messages are unacked at once; ACKs release the rest', async () => {
    const cloud = await startCloud(pki, cleanup, { controller: { maxInFlight: 8, resendIntervalMs: 60_000 } });
    const edge = await cloud.edge('edge-a', { autoAck: false });
    await registerNode(edge);
    await createNamespace(cloud.core, 'apps');
    await Promise.all(Array.from({ length: 20 }, (_, i) => cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec(`p${i}`, 'apps', 'edge-a') })));
    await waitFor(() => edge.received.length >= 8, 'a full window');
    await waitFor(() => cloud.controller.stats().nodes[0]?.queued === 21 - 8, 'the rest to wait in the queue');
    expect(edge.received.length).toBe(8);

    edge.autoAck = true;
    await edge.ackAll();
    const expected = ['node/null/edge-a', ...Array.from({ length: 20 }, (_, i) => `pod/apps/p${i}`)];
    await waitFor(() => holdsExactly(edge, cloud.core, expected), 'every pod after the ACKs', { onTimeout: () => describeStore(edge) });
    expect(edge.received.filter((m) => m.key.startsWith('pod/')).length).toBe(20);
  });
});
