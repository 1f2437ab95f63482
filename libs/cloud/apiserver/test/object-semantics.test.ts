// Object semantics over the REST API: metadata ownership, generation, status subresources, dry runs,
// generateName, selectors, paging, tables, events in both API groups, deletecollection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;
let registry: Registry;

beforeAll(async () => {
  registry = createMetricsRegistry({ defaultMetrics: false });
  test = await startTestServer({ metricsRegistry: registry });
});

afterAll(async () => {
  await test.close();
});

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

describe('metadata and status', () => {
  it('sets uid, creationTimestamp and generation; bumps generation on spec changes only; keeps status out of main updates', async () => {
    const created = await test.request('POST', '/api/v1/namespaces/default/pods', {
      body: { metadata: { name: 'gen' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] }, status: { phase: 'Running' } },
    });
    expect(created.status).toBe(201);
    expect(created.json.metadata).toMatchObject({ generation: 1, name: 'gen', namespace: 'default' });
    expect(created.json.status.phase).toBe('Pending'); // status is not the client's on create
    const uid = created.json.metadata.uid;
    const labelled = await test.request('PATCH', '/api/v1/namespaces/default/pods/gen', { body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' });
    expect(labelled.json.metadata.generation).toBe(1);
    const status = await test.request('PATCH', '/api/v1/namespaces/default/pods/gen/status', { body: { status: { phase: 'Running' }, spec: { nodeName: 'ignored' } }, contentType: 'application/merge-patch+json' });
    expect(status.json.status.phase).toBe('Running');
    expect(status.json.spec.nodeName).toBeUndefined();
    expect(status.json.metadata.generation).toBe(1);
    const mainWithStatus = await test.request('PATCH', '/api/v1/namespaces/default/pods/gen', { body: { status: { phase: 'Failed' } }, contentType: 'application/merge-patch+json' });
    expect(mainWithStatus.json.status.phase).toBe('Running');
    const image = await test.request('PATCH', '/api/v1/namespaces/default/pods/gen', { body: { spec: { containers: [{ name: 'c', image: 'busybox:2' }] } }, contentType: 'application/strategic-merge-patch+json' });
    expect(image.json.metadata.generation).toBe(2);
    expect(image.json.metadata.uid).toBe(uid);
    expect(image.json.metadata.creationTimestamp).toBe(created.json.metadata.creationTimestamp);
    const same = await test.request('PATCH', '/api/v1/namespaces/default/pods/gen', { body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' });
    expect(same.json.metadata.resourceVersion).toBe(image.json.metadata.resourceVersion); // no-op writes are not written
  });

  it('dryRun=All validates and answers without writing; generateName picks a free name', async () => {
    const dry = await test.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: { metadata: { name: 'dry' }, data: { a: '1' } } });
    expect(dry.status).toBe(201);
    expect(dry.json.metadata.uid).toBeDefined();
    expect((await test.request('GET', '/api/v1/namespaces/default/configmaps/dry')).status).toBe(404);
    const generated = await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { generateName: 'gen-' } } });
    expect(generated.json.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const revision = test.server.storage.currentRevision();
    await test.request('DELETE', `/api/v1/namespaces/default/configmaps/${generated.json.metadata.name}?dryRun=All`);
    expect(test.server.storage.currentRevision()).toBe(revision);
    expect((await test.request('GET', `/api/v1/namespaces/default/configmaps/${generated.json.metadata.name}`)).status).toBe(200);
  });

  it('PUT without resourceVersion is unconditional for built-ins; secrets fold stringData into data', async () => {
    await test.request('POST', '/api/v1/namespaces/default/secrets', { body: { metadata: { name: 's' }, stringData: { user: 'admin' } } });
    const secret = await test.request('GET', '/api/v1/namespaces/default/secrets/s');
    expect(secret.json).toMatchObject({ type: 'Opaque', data: { user: Buffer.from('admin').toString('base64') } });
    expect(secret.json.stringData).toBeUndefined();
    const replaced = await test.request('PUT', '/api/v1/namespaces/default/secrets/s', { body: { metadata: { name: 's' }, data: { other: 'eA==' } } });
    expect(replaced.status).toBe(200);
    expect(replaced.json.data).toEqual({ other: 'eA==' });
  });
});

describe('lists', () => {
  beforeAll(async () => {
    await test.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'sel' } } });
    const labels = [{ env: 'prod', tier: 'web' }, { env: 'prod', tier: 'db' }, { env: 'dev', tier: 'web' }, { tier: 'cache' }, {}];
    for (const [index, set] of labels.entries()) {
      await test.request('POST', '/api/v1/namespaces/sel/configmaps', { body: { metadata: { name: `cm-${index}`, labels: set } } });
    }
  });

  const names = async (query: string): Promise<string[]> => {
    const response = await test.request('GET', `/api/v1/namespaces/sel/configmaps?${query}`);
    expect(response.status, response.text).toBe(200);
    return response.json.items.map((item: { metadata: { name: string } }) => item.metadata.name);
  };

  it('selects by label with =, ==, !=, in, notin, exists and !key', async () => {
    const select = (selector: string): Promise<string[]> => names(`labelSelector=${encodeURIComponent(selector)}`);
    expect(await select('env=prod')).toEqual(['cm-0', 'cm-1']);
    expect(await select('env==dev')).toEqual(['cm-2']);
    expect(await select('env!=prod')).toEqual(['cm-2', 'cm-3', 'cm-4']);
    expect(await select('tier in (web,cache)')).toEqual(['cm-0', 'cm-2', 'cm-3']);
    expect(await select('tier notin (web)')).toEqual(['cm-1', 'cm-3', 'cm-4']);
    expect(await select('env')).toEqual(['cm-0', 'cm-1', 'cm-2']);
    expect(await select('!env')).toEqual(['cm-3', 'cm-4']);
    expect(await select('env=prod,tier=db')).toEqual(['cm-1']);
  });

  it('selects by field, and pages with limit and continue at one consistent revision', async () => {
    expect(await names('fieldSelector=metadata.name%3Dcm-3')).toEqual(['cm-3']);
    expect(await names('fieldSelector=metadata.name!%3Dcm-3,metadata.namespace%3Dsel')).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-4']);
    const first = await test.request('GET', '/api/v1/namespaces/sel/configmaps?limit=2');
    expect(first.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['cm-0', 'cm-1']);
    await test.request('POST', '/api/v1/namespaces/sel/configmaps', { body: { metadata: { name: 'cm-9' } } });
    const second = await test.request('GET', `/api/v1/namespaces/sel/configmaps?limit=2&continue=${first.json.metadata.continue}`);
    expect(second.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['cm-2', 'cm-3']);
    const third = await test.request('GET', `/api/v1/namespaces/sel/configmaps?limit=2&continue=${second.json.metadata.continue}`);
    // cm-9 was written after the first page: a consistent list does not show it
    expect(third.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['cm-4']);
    expect(third.json.metadata.continue).toBeUndefined();
    expect(second.json.metadata.resourceVersion).toBe(first.json.metadata.resourceVersion);
    const filtered = await test.request('GET', `/api/v1/namespaces/sel/configmaps?limit=1&labelSelector=env%3Dprod`);
    expect(filtered.json.items).toHaveLength(1);
    const rest = await test.request('GET', `/api/v1/namespaces/sel/configmaps?limit=1&labelSelector=env%3Dprod&continue=${filtered.json.metadata.continue}`);
    expect(rest.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['cm-1']);
  });

  it('answers Table requests with column definitions and row objects as asked', async () => {
    const table = await test.request('GET', '/api/v1/namespaces/sel/configmaps', { accept: TABLE });
    expect(table.json.kind).toBe('Table');
    expect(table.json.columnDefinitions.map((column: { name: string }) => column.name)).toEqual(['Name', 'Data', 'Age']);
    expect(table.json.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'cm-0' } });
    const full = await test.request('GET', '/api/v1/namespaces/sel/configmaps?includeObject=Object', { accept: TABLE });
    expect(full.json.rows[0].object.kind).toBe('ConfigMap');
    const none = await test.request('GET', '/api/v1/namespaces/sel/configmaps?includeObject=None', { accept: TABLE });
    expect(none.json.rows[0].object).toBeUndefined();
    const nodes = await test.request('GET', '/api/v1/nodes', { accept: TABLE });
    expect(nodes.json.columnDefinitions.filter((column: { priority: number }) => column.priority === 0).map((column: { name: string }) => column.name)).toEqual([
      'Name', 'Status', 'Roles', 'Age', 'Version',
    ]);
    const services = await test.request('GET', '/api/v1/services', { accept: TABLE });
    expect(services.json.columnDefinitions.map((column: { name: string }) => column.name).slice(0, 6)).toEqual([
      'Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age',
    ]);
  });

  it('deletecollection deletes what the selector matches', async () => {
    const response = await test.request('DELETE', '/api/v1/namespaces/sel/configmaps?labelSelector=tier%3Dweb');
    expect(response.status).toBe(200);
    expect(response.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['cm-0', 'cm-2']);
    expect(await names('labelSelector=tier%3Dweb')).toEqual([]);
  });
});

describe('events', () => {
  it('selects core/v1 events by involvedObject fields and serves them as events.k8s.io/v1 too', async () => {
    const event = (name: string, kind: string, object: string, type = 'Normal') => ({
      metadata: { name },
      involvedObject: { kind, name: object, namespace: 'default', uid: `uid-${object}` },
      reason: 'Tested',
      message: `event about ${object}`,
      type,
      source: { component: 'tester' },
    });
    await test.request('POST', '/api/v1/namespaces/default/events', { body: event('e1', 'Pod', 'p1') });
    await test.request('POST', '/api/v1/namespaces/default/events', { body: event('e2', 'Pod', 'p2', 'Warning') });
    await test.request('POST', '/api/v1/namespaces/default/events', { body: event('e3', 'Node', 'p1') });
    const query = 'fieldSelector=' + encodeURIComponent('involvedObject.name=p1,involvedObject.kind=Pod,involvedObject.namespace=default,involvedObject.uid=uid-p1');
    const selected = await test.request('GET', `/api/v1/namespaces/default/events?${query}`);
    expect(selected.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['e1']);
    const warnings = await test.request('GET', '/api/v1/namespaces/default/events?fieldSelector=type%3DWarning,source%3Dtester,reason%3DTested');
    expect(warnings.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['e2']);
    const v1 = await test.request('GET', '/apis/events.k8s.io/v1/namespaces/default/events/e1');
    expect(v1.json).toMatchObject({ apiVersion: 'events.k8s.io/v1', kind: 'Event', regarding: { name: 'p1' }, note: 'event about p1', deprecatedSource: { component: 'tester' } });
    const created = await test.request('POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      body: { metadata: { name: 'e4' }, regarding: { kind: 'Pod', name: 'p4', namespace: 'default' }, note: 'new style', reason: 'Tested', type: 'Normal', eventTime: '2025-01-01T00:00:00.000000Z', reportingController: 'x', reportingInstance: 'y', action: 'Test' },
    });
    expect(created.status).toBe(201);
    const core = await test.request('GET', '/api/v1/namespaces/default/events/e4');
    expect(core.json).toMatchObject({ apiVersion: 'v1', involvedObject: { name: 'p4' }, message: 'new style', reportingComponent: 'x' });
  });
});

describe('discovery and OpenAPI', () => {
  it('serves aggregated discovery, legacy discovery and OpenAPI v3 documents with fieldValidation', async () => {
    const aggregated = await test.request('GET', '/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    expect(aggregated.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    expect(aggregated.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual([
      'apps',
      'batch',
      'authentication.k8s.io',
      'authorization.k8s.io',
      'rbac.authorization.k8s.io',
      'policy',
      'coordination.k8s.io',
      'events.k8s.io',
      'apiextensions.k8s.io',
    ]);
    const core = await test.request('GET', '/api', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' });
    const pods = core.json.items[0].versions[0].resources.find((resource: { resource: string }) => resource.resource === 'pods');
    expect(pods).toMatchObject({ scope: 'Namespaced', singularResource: 'pod', shortNames: ['po'], responseKind: { kind: 'Pod' } });
    expect(pods.subresources.map((entry: { subresource: string }) => entry.subresource)).toEqual(['status', 'binding', 'eviction', 'ephemeralcontainers', 'log', 'exec', 'attach', 'portforward']);
    expect((await test.request('GET', '/api')).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect((await test.request('GET', '/apis/coordination.k8s.io')).json).toMatchObject({ kind: 'APIGroup', preferredVersion: { version: 'v1' } });
    const root = await test.request('GET', '/openapi/v3');
    const location = root.json.paths['api/v1'].serverRelativeURL as string;
    const document = await test.request('GET', location);
    const patch = document.json.paths['/api/v1/namespaces/{namespace}/configmaps/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'ConfigMap' });
    expect(patch.parameters.map((parameter: { name: string }) => parameter.name)).toContain('fieldValidation');
  });

  it('counts requests by verb, resource and code', async () => {
    await test.request('GET', '/api/v1/namespaces/default/configmaps/not-there');
    const metric = await registry.getSingleMetric('apiserver_request_total')?.get();
    const notFound = metric?.values.find((value) => value.labels['resource'] === 'configmaps' && value.labels['code'] === '404' && value.labels['verb'] === 'GET');
    expect(notFound?.value).toBeGreaterThanOrEqual(1);
    const metrics = await test.request('GET', '/metrics');
    expect(metrics.text).toContain('apiserver_request_total');
  });
});
