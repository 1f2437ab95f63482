// @kubernetes/client-node informers and watches against the embedded API server: list+watch,
// recovery from 410 Expired by re-listing, and exact event delivery under racing writers.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ApiException,
  CoreV1Api,
  ListWatch,
  PatchStrategy,
  Watch,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startTestServer, waitFor, type TestServer } from './harness';

let test: TestServer | undefined;
const stoppers: (() => unknown)[] = [];

afterEach(async () => {
  for (const stop of stoppers.splice(0)) await stop();
  await test?.close();
  test = undefined;
});

async function createNamespace(api: CoreV1Api, name: string): Promise<void> {
  await api.createNamespace({ body: { metadata: { name } } });
}

describe('client-node informers', () => {
  it('list and watch: adds, updates and deletes reach the informer cache', async () => {
    test = await startTestServer();
    const api = test.kubeConfig().makeApiClient(CoreV1Api);
    await createNamespace(api, 'watched');
    await api.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'existing' }, data: { a: '1' } } });
    const informer = makeInformer<V1ConfigMap>(test.kubeConfig(), '/api/v1/namespaces/watched/configmaps', () =>
      api.listNamespacedConfigMap({ namespace: 'watched' }),
    );
    const seen: string[] = [];
    informer.on('add', (object) => seen.push(`add ${object.metadata?.name}`));
    informer.on('update', (object) => seen.push(`update ${object.metadata?.name} ${object.data?.['a']}`));
    informer.on('delete', (object) => seen.push(`delete ${object.metadata?.name}`));
    await informer.start();
    stoppers.push(() => informer.stop());
    await waitFor(() => seen.includes('add existing'), 'the initial list');
    await api.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'fresh' }, data: { a: '1' } } });
    await api.patchNamespacedConfigMap(
      { name: 'fresh', namespace: 'watched', body: { data: { a: '2' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await api.deleteNamespacedConfigMap({ name: 'existing', namespace: 'watched' });
    await waitFor(() => seen.includes('delete existing'), 'the delete event');
    expect(seen).toEqual(['add existing', 'add fresh', 'update fresh 2', 'delete existing']);
    expect(informer.list('watched').map((object) => object.metadata?.name)).toEqual(['fresh']);
  });

  it('a watch from a compacted resourceVersion gets an ERROR event with a 410 Expired Status', async () => {
    test = await startTestServer();
    const api = test.kubeConfig().makeApiClient(CoreV1Api);
    const first = await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c0' } } });
    for (let index = 1; index <= 10; index++) await api.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `c${index}` } } });
    test.server.storage.compact(2);
    const events: { type: string; object: Record<string, unknown> }[] = [];
    let ended: unknown = 'open';
    await new Watch(test.kubeConfig()).watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: first.metadata?.resourceVersion },
      (type, object) => events.push({ type, object }),
      (error) => (ended = error),
    );
    await waitFor(() => ended !== 'open', 'the server to end the watch');
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('ERROR');
    expect(events[0]?.object).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
    expect(String(events[0]?.object['message'])).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('a ListWatch whose watch was disconnected across a compaction re-lists and catches up', async () => {
    // watches end after 1-2 s, so the informer reconnects with its last resourceVersion
    test = await startTestServer({ watchTimeoutSeconds: 1 });
    const api = test.kubeConfig().makeApiClient(CoreV1Api);
    await createNamespace(api, 'watched');
    await createNamespace(api, 'busy');
    let lists = 0;
    const informer = new ListWatch<V1ConfigMap>(
      '/api/v1/namespaces/watched/configmaps',
      new Watch(test.kubeConfig()),
      () => {
        lists++;
        return api.listNamespacedConfigMap({ namespace: 'watched' });
      },
      false,
    );
    const names = new Set<string>();
    informer.on('add', (object) => names.add(object.metadata?.name ?? ''));
    // 'connect' fires when the informer is between watches: compact right then, once
    let compactAtNextConnect = false;
    let compactedTo = 0;
    informer.on('connect', () => {
      if (!compactAtNextConnect) return;
      compactAtNextConnect = false;
      compactedTo = test!.server.storage.compact(5);
    });
    await informer.start();
    stoppers.push(() => informer.stop());
    await waitFor(() => lists === 1, 'the first list');
    const listedAt = Number(informer.latestResourceVersion());
    // history moves on elsewhere, so the informer's resourceVersion falls behind
    for (let index = 0; index < 20; index++) await api.createNamespacedConfigMap({ namespace: 'busy', body: { metadata: { name: `b${index}` } } });
    compactAtNextConnect = true;
    await waitFor(() => lists >= 2, 'a re-list after the 410', 20_000);
    expect(compactedTo).toBeGreaterThan(listedAt);
    await api.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'after-compaction' } } });
    await waitFor(() => names.has('after-compaction'), 'the informer to see the object created after compaction', 20_000);
    expect(informer.list('watched').map((object) => object.metadata?.name)).toEqual(['after-compaction']);
  });
});

interface Acknowledged {
  name: string;
  resourceVersion: string;
}

describe('watch consistency under racing writers', () => {
  it('1000 writes from 4 clients: the informer cache equals a fresh list and the watch saw every acknowledged write once, in order', async () => {
    test = await startTestServer();
    const admin = test.kubeConfig().makeApiClient(CoreV1Api);
    await createNamespace(admin, 'race');
    const start = await admin.listNamespacedConfigMap({ namespace: 'race' });

    const informer = makeInformer<V1ConfigMap>(test.kubeConfig(), '/api/v1/namespaces/race/configmaps', () =>
      admin.listNamespacedConfigMap({ namespace: 'race' }),
    );
    const informerVersions = new Map<string, number[]>();
    const track = (object: KubernetesObject): void => {
      const list = informerVersions.get(object.metadata?.name ?? '') ?? [];
      list.push(Number(object.metadata?.resourceVersion));
      informerVersions.set(object.metadata?.name ?? '', list);
    };
    informer.on('add', track);
    informer.on('update', track);
    await informer.start();
    stoppers.push(() => informer.stop());

    // a raw watch from the list's resourceVersion records every event
    const watched: { type: string; name: string; resourceVersion: string }[] = [];
    const watchController = await new Watch(test.kubeConfig()).watch(
      '/api/v1/namespaces/race/configmaps',
      { resourceVersion: start.metadata?.resourceVersion },
      (type, object: KubernetesObject) =>
        watched.push({ type, name: object.metadata?.name ?? '', resourceVersion: object.metadata?.resourceVersion ?? '' }),
      () => undefined,
    );
    stoppers.push(() => watchController.abort());

    const names = Array.from({ length: 25 }, (_, index) => `cm-${index}`);
    const acknowledged: Acknowledged[] = [];
    const writer = async (id: number): Promise<void> => {
      const api = test!.kubeConfig().makeApiClient(CoreV1Api);
      for (let step = 0; step < 250; step++) {
        const name = names[(step * 7 + id * 3) % names.length] ?? 'cm-0';
        const value = `${id}-${step}`;
        try {
          const patched = await api.patchNamespacedConfigMap(
            { name, namespace: 'race', body: { data: { value } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          );
          acknowledged.push({ name, resourceVersion: patched.metadata?.resourceVersion ?? '' });
        } catch (error) {
          if (!(error instanceof ApiException) || error.code !== 404) throw error;
          try {
            const created = await api.createNamespacedConfigMap({ namespace: 'race', body: { metadata: { name }, data: { value } } });
            acknowledged.push({ name, resourceVersion: created.metadata?.resourceVersion ?? '' });
          } catch (createError) {
            // another writer created it first: this write was not acknowledged, which is fine
            if (!(createError instanceof ApiException) || createError.code !== 409) throw createError;
          }
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(writer));
    expect(acknowledged.length).toBeGreaterThanOrEqual(1000 - names.length);

    const final = await admin.listNamespacedConfigMap({ namespace: 'race' });
    const finalVersions = new Map(final.items.map((item) => [item.metadata?.name ?? '', item.metadata?.resourceVersion ?? '']));
    await waitFor(
      () => [...finalVersions].every(([name, version]) => informer.get(name, 'race')?.metadata?.resourceVersion === version),
      'the informer cache to reach the final list',
    );
    expect(informer.list('race').length).toBe(final.items.length);
    await waitFor(() => watched.length >= acknowledged.length, 'the watch to deliver every acknowledged write');

    // every acknowledged write was watched exactly once, and nothing else was
    const expected = acknowledged.map((write) => `${write.name}@${write.resourceVersion}`).sort();
    const received = watched.map((event) => `${event.name}@${event.resourceVersion}`).sort();
    expect(received).toEqual(expected);
    // per object, resourceVersions only grow, in the watch and in the informer
    for (const name of names) {
      const sequence = watched.filter((event) => event.name === name).map((event) => Number(event.resourceVersion));
      expect(sequence).toEqual([...sequence].sort((a, b) => a - b));
      expect(new Set(sequence).size).toBe(sequence.length);
      const informed = informerVersions.get(name) ?? [];
      for (let index = 1; index < informed.length; index++) expect(informed[index]).toBeGreaterThan(informed[index - 1] ?? 0);
    }
    expect(watched.filter((event) => event.type === 'ADDED').map((event) => event.name).sort()).toEqual([...names].sort());
  });
});
