// Events against a real API server: one Event per object, type, reason and message, whose count and
// lastTimestamp grow with each repeat, written at most once per interval.
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cleanup, waitFor } from '@kedge/testkit';
import { EventRecorder } from '../src/index';
import { startTestApi, testLogger, type TestApi } from './fixtures/api-server';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

async function podTarget(api: TestApi, name: string) {
  const pod = await api.core.createNamespacedPod({ namespace: 'default', body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'registry.local/app:1' }] } } });
  return { kind: 'Pod', apiVersion: 'v1', object: pod };
}

async function eventsAbout(api: TestApi, name: string): Promise<CoreV1Event[]> {
  return (await api.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` })).items;
}

describe('event recorder - aggregation', () => {
  it('event recorder - repeats of one event become one Event whose count grows, written at most once per interval', async () => {
    const api = await startTestApi(cleanup);
    const recorder = new EventRecorder({ kubeConfig: api.kubeConfig, component: 'test-controller', logger: testLogger('events'), patchIntervalMs: 1_500 });
    cleanup.add(() => recorder.close());
    const target = await podTarget(api, 'p1');

    recorder.emit(target, 'Warning', 'FailedScheduling', 'no node fits');
    await waitFor(async () => (await eventsAbout(api, 'p1')).length === 1, 'the first Event');
    const [first] = await eventsAbout(api, 'p1');
    expect(first).toMatchObject({ type: 'Warning', reason: 'FailedScheduling', message: 'no node fits', count: 1, source: { component: 'test-controller' } });
    expect(first?.involvedObject).toMatchObject({ kind: 'Pod', name: 'p1', namespace: 'default', uid: target.object.metadata?.uid });

    for (let i = 0; i < 4; i++) recorder.emit(target, 'Warning', 'FailedScheduling', 'no node fits');
    // within the interval nothing more is written
    expect((await eventsAbout(api, 'p1'))[0]?.count).toBe(1);
    await waitFor(async () => (await eventsAbout(api, 'p1'))[0]?.count === 5, 'the count to reach 5');
    const events = await eventsAbout(api, 'p1');
    expect(events).toHaveLength(1);
    expect(events[0]?.metadata?.name).toBe(first?.metadata?.name);
  });

  it('event recorder - another reason or message, or another object, is another Event', async () => {
    const api = await startTestApi(cleanup);
    const recorder = new EventRecorder({ kubeConfig: api.kubeConfig, component: 'test-controller', logger: testLogger('events') });
    cleanup.add(() => recorder.close());
    const p1 = await podTarget(api, 'p1');
    const p2 = await podTarget(api, 'p2');
    recorder.emit(p1, 'Normal', 'Scheduled', 'assigned to n1');
    recorder.emit(p1, 'Normal', 'Scheduled', 'assigned to n2');
    recorder.emit(p2, 'Normal', 'Scheduled', 'assigned to n1');
    await waitFor(async () => (await eventsAbout(api, 'p1')).length === 2 && (await eventsAbout(api, 'p2')).length === 1, 'three Events');
    expect((await eventsAbout(api, 'p1')).map((e) => e.message).sort()).toEqual(['assigned to n1', 'assigned to n2']);
  });

  it('event recorder - an Event deleted meanwhile is written again as a new one carrying the count', async () => {
    const api = await startTestApi(cleanup);
    const recorder = new EventRecorder({ kubeConfig: api.kubeConfig, component: 'test-controller', logger: testLogger('events'), patchIntervalMs: 50 });
    cleanup.add(() => recorder.close());
    const target = await podTarget(api, 'p1');
    recorder.emit(target, 'Warning', 'BackOff', 'retrying');
    await waitFor(async () => (await eventsAbout(api, 'p1')).length === 1, 'the first Event');
    const [first] = await eventsAbout(api, 'p1');
    await api.core.deleteNamespacedEvent({ namespace: 'default', name: first?.metadata?.name ?? '' });
    recorder.emit(target, 'Warning', 'BackOff', 'retrying');
    await waitFor(async () => (await eventsAbout(api, 'p1'))[0]?.count === 2, 'a new Event with count 2');
    expect((await eventsAbout(api, 'p1'))[0]?.metadata?.name).not.toBe(first?.metadata?.name);
  });
});
