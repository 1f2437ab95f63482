// Informers that stay up: after the API server goes away they fail, are restarted with backoff, and
// pick up what changed once it is back; a resource the server does not serve does not block sync.
// SharedInformer hands each event to every subscriber with the previous version.
import type { KubeObject } from '@kedge/kube-core';

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cleanup, waitFor } from '@kedge/testkit';
import { ManagedInformer, SharedInformer, type InformerEvent } from '../src/index';
import { startTestApi, testLogger, type TestApi } from './fixtures/api-server';

/** the informers hold raw JSON; a ConfigMap's data is read as such */
type ConfigMap = KubeObject & { data?: Record<string, string> };

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

const fast = { initialMs: 50, maxMs: 200 };

async function withConfigMaps(api: TestApi, ...names: string[]): Promise<void> {
  await api.core.createNamespace({ body: { metadata: { name: 'apps' } } });
  for (const name of names) await api.core.createNamespacedConfigMap({ namespace: 'apps', body: { metadata: { name }, data: { v: '1' } } });
}

function configMapInformer(api: TestApi, onEvent: (event: InformerEvent, object: KubeObject) => void = () => undefined, restarts: string[] = []) {
  const informer = new ManagedInformer<KubeObject>({
    kubeConfig: api.kubeConfig,
    resource: 'configmaps',
    path: '/api/v1/namespaces/apps/configmaps',
    logger: testLogger('informer'),
    backoff: fast,
    onEvent,
    onRestart: (resource) => restarts.push(resource),
  });
  cleanup.add(() => informer.stop());
  return informer;
}

const names = (informer: ManagedInformer<KubeObject>) => informer.cache.list().map((c) => c.metadata?.name).sort();

describe('managed informer - API server outage', () => {
  it('managed informer - is restarted with backoff while the API server is away and catches up once it is back', async () => {
    const api = await startTestApi(cleanup);
    await withConfigMaps(api, 'before');
    const restarts: string[] = [];
    const informer = configMapInformer(api, undefined, restarts);
    await informer.start();
    expect(informer.isSynced).toBe(true);
    expect(names(informer)).toEqual(['before']);

    const restart = await api.stop();
    await waitFor(() => restarts.length >= 2, 'the informer to fail and be restarted twice');
    expect(restarts.every((resource) => resource === 'configmaps')).toBe(true);
    await restart();

    await api.core.createNamespacedConfigMap({ namespace: 'apps', body: { metadata: { name: 'after' } } });
    await api.core.deleteNamespacedConfigMap({ namespace: 'apps', name: 'before' });
    await waitFor(() => names(informer).join() === 'after', 'the cache to follow changes made after the outage', { onTimeout: () => names(informer).join() });
  });

  it('managed informer - a resource the API server does not serve counts as synced, and is retried', async () => {
    const api = await startTestApi(cleanup);
    const restarts: string[] = [];
    const informer = new ManagedInformer({
      kubeConfig: api.kubeConfig,
      resource: 'widgets',
      path: '/apis/example.com/v1/widgets',
      logger: testLogger('informer'),
      backoff: fast,
      onEvent: () => undefined,
      onRestart: (resource) => restarts.push(resource),
    });
    cleanup.add(() => informer.stop());
    await informer.start();
    expect(informer.isSynced).toBe(true);
    expect(informer.cache.list()).toEqual([]);
    expect(restarts).toEqual(['widgets']);
  });

  it('managed informer - objects in the cache are the raw JSON the API server wrote, with apiVersion and kind', async () => {
    const api = await startTestApi(cleanup);
    await withConfigMaps(api, 'listed');
    const informer = configMapInformer(api);
    await informer.start();
    const listed = informer.cache.get('listed', 'apps');
    expect(listed).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { v: '1' } });
    // client-node's typed lists would make this a Date; the edge must get the API server's string
    expect(typeof listed?.metadata?.creationTimestamp).toBe('string');
  });
});

describe('shared informer - fan-out', () => {
  it('shared informer - every subscriber gets every event, updates with the previous version', async () => {
    const api = await startTestApi(cleanup);
    await withConfigMaps(api, 'shared');
    const shared = new SharedInformer<ConfigMap>({ kubeConfig: api.kubeConfig, resource: 'configmaps', path: '/api/v1/namespaces/apps/configmaps', logger: testLogger('shared') });
    cleanup.add(() => shared.informer.stop());
    const first: string[] = [];
    const second: string[] = [];
    shared.subscribe((event, object, previous) => first.push(`${event} ${object.data?.['v']} (was ${previous?.data?.['v'] ?? '-'})`));
    shared.subscribe((event, object) => second.push(`${event} ${object.metadata?.name}`));
    await shared.informer.start();
    await api.core.patchNamespacedConfigMap({ namespace: 'apps', name: 'shared', body: [{ op: 'replace', path: '/data/v', value: '2' }] });
    await waitFor(() => first.length === 2, 'the update to reach the subscribers');
    expect(first).toEqual(['add 1 (was -)', 'update 2 (was 1)']);
    expect(second).toEqual(['add shared', 'update shared']);
    expect(shared.get('shared', 'apps')?.data?.['v']).toBe('2');
    expect(shared.list('apps')).toHaveLength(1);
  });
});
