// MetaServer over real HTTP on 127.0.0.1: discovery, get/list with selectors and paging, tables,
// read-only refusals, and watches (live, resumed after a restart, expired, bookmarks, timeouts).
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUD_RESOURCE_VERSION_ANNOTATION } from '../src/index';
import { Cleanup, downMessage, openStore, tempDir, waitFor } from './fixtures';
import { AUTHORIZED, getJson, openWatch, startServer } from './server-fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function seededStore(options: { keepChanges?: number } = {}) {
  const file = join(tempDir(cleanup), 'edgecore.db');
  const store = openStore(cleanup, file, options);
  store.apply(downMessage({ name: 'web', rv: '100', labels: { app: 'web' }, fields: { spec: { nodeName: 'gw-1', containers: [{ name: 'c' }] } } }));
  store.apply(downMessage({ name: 'db', namespace: 'x', rv: '101', labels: { app: 'db' }, fields: { spec: { nodeName: 'gw-2' } } }));
  store.apply(downMessage({ type: 'configmap', name: 'cfg', namespace: 'x', rv: '102', fields: { data: { a: '1', b: '2' } } }));
  store.apply(downMessage({ type: 'node', namespace: 'null', name: 'gw-1', operation: 'update', rv: '103' }));
  return { file, store };
}

function names(body: Record<string, unknown>): string[] {
  return (body['items'] as { metadata: { name: string } }[]).map((item) => item.metadata.name);
}

describe('MetaServer reads', () => {
  it('discovery - /api, /api/v1, /apis and /version describe the served core types', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const api = await getJson(`${server.url}/api`);
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await getJson(`${server.url}/api/v1`);
    const resources = v1.body['resources'] as { name: string; namespaced: boolean; verbs: string[] }[];
    expect(resources.map((resource) => resource.name).sort()).toEqual(['configmaps', 'endpoints', 'nodes', 'pods', 'secrets', 'services']);
    expect(resources.find((resource) => resource.name === 'nodes')).toMatchObject({ namespaced: false, verbs: ['get', 'list', 'watch'] });
    expect((await getJson(`${server.url}/apis`)).body).toMatchObject({ kind: 'APIGroupList', groups: [] });
    expect((await getJson(`${server.url}/version`)).body).toMatchObject({ major: '1' });
  });

  it('get - serves the object with kind, the local revision as resourceVersion and the cloud version annotated', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const { status, body } = await getJson(`${server.url}/api/v1/namespaces/x/pods/db`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'db', namespace: 'x', resourceVersion: '2' } });
    expect((body['metadata'] as { annotations: Record<string, string> }).annotations[CLOUD_RESOURCE_VERSION_ANNOTATION]).toBe('101');
    const node = await getJson(`${server.url}/api/v1/nodes/gw-1`);
    expect(node.body).toMatchObject({ kind: 'Node', metadata: { name: 'gw-1', resourceVersion: '4' } });
    expect((node.body['metadata'] as Record<string, unknown>)['namespace']).toBeUndefined();
  });

  it('get - missing objects and unknown paths are 404 Status objects', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const missing = await getJson(`${server.url}/api/v1/namespaces/x/pods/nope`);
    expect(missing).toMatchObject({ status: 404, body: { kind: 'Status', reason: 'NotFound', code: 404, message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } } });
    for (const path of ['/api/v1/deployments', '/apis/apps/v1', '/api/v2', '/api/v1/pods/web', '/api/v1/namespaces/x/nodes', '/api/v1/namespaces/x/pods/db/log']) {
      const { status, body } = await getJson(`${server.url}${path}`);
      expect([path, status, body['kind']]).toEqual([path, 404, 'Status']);
    }
  });

  it('list - all namespaces, one namespace and cluster-scoped, with the current local revision', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const all = await getJson(`${server.url}/api/v1/pods`);
    expect(all.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '4' } });
    expect(names(all.body)).toEqual(['web', 'db']);
    expect(names((await getJson(`${server.url}/api/v1/namespaces/x/pods`)).body)).toEqual(['db']);
    expect(names((await getJson(`${server.url}/api/v1/namespaces/empty/pods`)).body)).toEqual([]);
    expect(names((await getJson(`${server.url}/api/v1/nodes`)).body)).toEqual(['gw-1']);
  });

  it('list - label and field selectors filter; bad selectors are 400', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    expect(names((await getJson(`${server.url}/api/v1/pods?labelSelector=${encodeURIComponent('app in (db)')}`)).body)).toEqual(['db']);
    expect(names((await getJson(`${server.url}/api/v1/pods?fieldSelector=spec.nodeName%3Dgw-1`)).body)).toEqual(['web']);
    expect(names((await getJson(`${server.url}/api/v1/pods?fieldSelector=metadata.namespace%3Dx,metadata.name%3Ddb`)).body)).toEqual(['db']);
    const bad = await getJson(`${server.url}/api/v1/pods?fieldSelector=spec.host%3Dx`);
    expect(bad).toMatchObject({ status: 400, body: { kind: 'Status', reason: 'BadRequest' } });
    expect((await getJson(`${server.url}/api/v1/pods?labelSelector=%3D%3D`)).status).toBe(400);
  });

  it('list - limit and continue page through the objects', async () => {
    const { store } = seededStore();
    for (const name of ['a', 'b', 'c']) store.apply(downMessage({ name, rv: '200' }));
    const server = await startServer(cleanup, store);
    const seen: string[] = [];
    let next = '';
    let pages = 0;
    do {
      const { body } = await getJson(`${server.url}/api/v1/pods?limit=2${next ? `&continue=${encodeURIComponent(next)}` : ''}`);
      seen.push(...names(body));
      expect((body['metadata'] as Record<string, unknown>)['resourceVersion']).toBe('7');
      next = ((body['metadata'] as Record<string, unknown>)['continue'] as string | undefined) ?? '';
      pages += 1;
    } while (next !== '' && pages < 10);
    expect(seen).toEqual(['a', 'b', 'c', 'web', 'db']);
    expect(pages).toBe(3);
    expect((await getJson(`${server.url}/api/v1/pods?limit=2&continue=garbage`)).status).toBe(400);
    // as kube-apiserver: a negative limit is no limit, a limit that is no integer a 400 naming it
    const unlimited = await getJson(`${server.url}/api/v1/pods?limit=-1`);
    expect(unlimited.status).toBe(200);
    expect(names(unlimited.body)).toHaveLength(5);
    const notANumber = await getJson(`${server.url}/api/v1/pods?limit=two`);
    expect(notANumber.status).toBe(400);
    expect(String(notANumber.body['message'])).toContain('query parameter limit');
  });

  it('table - pods as a meta.k8s.io Table with NAME READY STATUS RESTARTS AGE', async () => {
    const { store } = seededStore();
    store.apply(
      downMessage({
        name: 'crashy',
        rv: '300',
        fields: {
          spec: { containers: [{ name: 'a' }, { name: 'b' }] },
          status: { phase: 'Running', containerStatuses: [{ name: 'a', ready: true, restartCount: 3, state: { running: {} } }, { name: 'b', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] },
        },
      }),
    );
    const server = await startServer(cleanup, store);
    const { body } = await getJson(`${server.url}/api/v1/namespaces/default/pods`, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    expect(body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    const columns = (body['columnDefinitions'] as { name: string; priority: number }[]).filter((column) => column.priority === 0).map((column) => column.name);
    expect(columns).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    const rows = body['rows'] as { cells: unknown[]; object: { kind: string; metadata: { namespace: string } } }[];
    expect(rows.map((row) => row.cells.slice(0, 4))).toEqual([
      ['crashy', '1/2', 'CrashLoopBackOff', '7'],
      ['web', '0/1', 'Pending', '0'],
    ]);
    expect(rows[0]?.object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { namespace: 'default' } });
  });

  it('writes - POST, PUT, PATCH and DELETE get a 405 Status saying MetaServer is read-only', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const { status, body } = await getJson(`${server.url}/api/v1/namespaces/default/pods/web`, { method, body: '{"metadata":{"name":"web"}}', headers: { 'content-type': 'application/json' } });
      expect([method, status, body['reason']]).toEqual([method, 405, 'MethodNotAllowed']);
      expect(body['message']).toMatch(/MetaServer is read-only/);
    }
    expect(store.get('pod', 'default', 'web')).toBeDefined();
    expect(store.localRevision).toBe(4);
  });
});

describe('MetaServer watch', () => {
  it('watch - without a resourceVersion sends the current objects as ADDED, then live changes', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const watch = openWatch(cleanup, `${server.url}/api/v1/pods?watch=1`);
    await waitFor(() => watch.events.length === 2, 'the initial ADDED events');
    store.apply(downMessage({ operation: 'update', name: 'web', rv: '150' }));
    store.apply(downMessage({ operation: 'delete', name: 'db', namespace: 'x', rv: '151' }));
    await waitFor(() => watch.events.length === 4, 'the live events');
    expect(watch.summary()).toEqual(['ADDED web@1', 'ADDED db@2', 'MODIFIED web@5', 'DELETED db@6']);
    expect(watch.events[2]?.object.kind).toBe('Pod');
  });

  it('watch - resumed from a resourceVersion after an edgecore restart gets exactly the later events', async () => {
    const { file, store } = seededStore();
    const server = await startServer(cleanup, store);
    const list = await getJson(`${server.url}/api/v1/namespaces/default/pods`);
    const listVersion = (list.body['metadata'] as { resourceVersion: string }).resourceVersion;
    store.apply(downMessage({ operation: 'update', name: 'web', rv: '110' }));
    store.apply(downMessage({ name: 'other-ns', namespace: 'x', rv: '111' }));
    await server.close();
    store.close();

    const restarted = openStore(cleanup, file);
    const restartedServer = await startServer(cleanup, restarted);
    restarted.apply(downMessage({ name: 'api', rv: '112' }));
    const watch = openWatch(cleanup, `${restartedServer.url}/api/v1/namespaces/default/pods?watch=true&resourceVersion=${listVersion}`);
    await waitFor(() => watch.events.length >= 2, 'the replayed events');
    // a marker change proves nothing else was queued between the replay and it
    restarted.apply(downMessage({ operation: 'delete', name: 'api', rv: '113' }));
    await waitFor(() => watch.events.some((event) => event.type === 'DELETED'), 'the marker');
    expect(watch.summary()).toEqual(['MODIFIED web@5', 'ADDED api@7', 'DELETED api@8']);
  });

  it('watch - a compacted resourceVersion gets an ERROR event with a 410 Expired Status and the stream ends', async () => {
    const { store } = seededStore({ keepChanges: 2 });
    const server = await startServer(cleanup, store);
    const watch = openWatch(cleanup, `${server.url}/api/v1/pods?watch=1&resourceVersion=1`);
    await waitFor(() => watch.ended, 'the server to end the watch');
    expect(watch.statusCode).toBe(200);
    expect(watch.events).toHaveLength(1);
    expect(watch.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
  });

  it('watch - bookmarks carry the current local revision; timeoutSeconds ends the stream', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store, { bookmarkIntervalMs: 20 });
    const watch = openWatch(cleanup, `${server.url}/api/v1/namespaces/x/configmaps?watch=1&resourceVersion=4&allowWatchBookmarks=true&timeoutSeconds=1`);
    store.apply(downMessage({ name: 'unrelated', rv: '120' }));
    await waitFor(() => watch.events.some((event) => event.type === 'BOOKMARK' && event.object.metadata?.resourceVersion === '5'), 'a bookmark at revision 5');
    expect(watch.events.every((event) => event.type === 'BOOKMARK')).toBe(true);
    expect(watch.events[0]?.object.kind).toBe('ConfigMap');
    await waitFor(() => watch.ended, 'the watch to time out');
  });

  it('watch - with a label selector, an object leaving it is DELETED and one entering it ADDED', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const watch = openWatch(cleanup, `${server.url}/api/v1/pods?watch=1&labelSelector=app%3Dweb`);
    await waitFor(() => watch.events.length === 1, 'the matching pod');
    store.apply(downMessage({ operation: 'update', name: 'web', rv: '130', labels: { app: 'retired' } }));
    store.apply(downMessage({ operation: 'update', name: 'db', namespace: 'x', rv: '131', labels: { app: 'web' } }));
    store.apply(downMessage({ operation: 'update', name: 'web', rv: '132', labels: { app: 'still-retired' } }));
    store.apply(downMessage({ name: 'marker', rv: '133', labels: { app: 'web' } }));
    await waitFor(() => watch.events.length >= 4, 'the selector transitions');
    expect(watch.summary()).toEqual(['ADDED web@1', 'DELETED web@5', 'ADDED db@6', 'ADDED marker@8']);
  });

  it('watch - the Python client spelling watch=True gets events, as on kube-apiserver (only 0 and false are false)', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const watch = openWatch(cleanup, `${server.url}/api/v1/pods?watch=True&timeoutSeconds=30`);
    await waitFor(() => watch.events.length === 2, 'the initial ADDED events');
    store.apply(downMessage({ operation: 'update', name: 'web', rv: '150' }));
    await waitFor(() => watch.events.length === 3, 'the live event');
    expect(watch.summary()).toEqual(['ADDED web@1', 'ADDED db@2', 'MODIFIED web@5']);
    // watch=False is a list
    const list = await getJson(`${server.url}/api/v1/pods?watch=False`);
    expect(list.body['kind']).toBe('PodList');
  });

  it('watch - sendInitialEvents with allowWatchBookmarks: ADDED events, then the initial-events-end BOOKMARK, then live', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const watch = openWatch(cleanup, `${server.url}/api/v1/pods?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`);
    await waitFor(() => watch.events.length === 3, 'the initial events and their bookmark');
    expect(watch.events.map((event) => event.type)).toEqual(['ADDED', 'ADDED', 'BOOKMARK']);
    expect(watch.events[2]?.object.metadata?.annotations?.['k8s.io/initial-events-end']).toBe('true');
    store.apply(downMessage({ operation: 'update', name: 'web', rv: '150' }));
    await waitFor(() => watch.events.length === 4, 'the live event');
    expect(watch.events[3]?.type).toBe('MODIFIED');
  });

  it('watch - parameters kube-apiserver refuses get its Status: 400 for a non-integer, 422 for a forbidden combination', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const badTimeout = await getJson(`${server.url}/api/v1/pods?watch=1&timeoutSeconds=soon`);
    expect([badTimeout.status, badTimeout.body['reason']]).toEqual([400, 'BadRequest']);
    expect(String(badTimeout.body['message'])).toContain('timeoutSeconds');
    const noMatch = await getJson(`${server.url}/api/v1/pods?watch=1&sendInitialEvents=true`);
    expect([noMatch.status, noMatch.body['reason']]).toEqual([422, 'Invalid']);
    expect(noMatch.body['message']).toBe('ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
    const listWithInitialEvents = await getJson(`${server.url}/api/v1/pods?sendInitialEvents=true`);
    expect(listWithInitialEvents.status).toBe(422);
  });

  it('watch - the server closing ends open watches', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const watch = openWatch(cleanup, `${server.url}/api/v1/pods?watch=1`);
    await waitFor(() => watch.events.length === 2, 'the initial events');
    await server.close();
    await waitFor(() => watch.ended, 'the watch to end');
  });
});

describe('MetaServer robustness', () => {
  it('fuzz - random methods, paths, queries and bodies always get a well-formed answer and never crash the server', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store, { watchTimeoutSeconds: 1 });
    const segment = fc.oneof(
      fc.constantFrom('api', 'v1', 'apis', 'namespaces', 'x', 'default', 'pods', 'nodes', 'configmaps', 'web', 'gw-1', 'version', '%zz', '..', '%00'),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
    );
    const param = fc.tuple(
      fc.constantFrom('watch', 'resourceVersion', 'labelSelector', 'fieldSelector', 'limit', 'continue', 'timeoutSeconds', 'includeObject', 'allowWatchBookmarks', 'x'),
      fc.oneof(fc.constantFrom('1', 'true', '0', '-1', '99999999999999999999', 'a=b', 'metadata.name=web', '!a,b in (c', ''), fc.string({ maxLength: 20 })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        fc.array(segment, { maxLength: 7 }),
        fc.array(param, { maxLength: 4 }),
        fc.string({ maxLength: 200 }),
        fc.boolean(),
        async (method, segments, params, body, table) => {
          const query = params.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
          const path = `/${segments.join('/')}${query ? `?${query}` : ''}`;
          const answer = await new Promise<{ status: number; type: string; text: string }>((resolve, reject) => {
            const payload = method === 'GET' || method === 'HEAD' ? '' : body;
            // an explicit length: Node does not frame DELETE/OPTIONS bodies, which would garble the next request on the connection
            const headers: Record<string, string | number> = { ...AUTHORIZED, 'content-length': Buffer.byteLength(payload) };
            if (table) headers['accept'] = 'application/json;as=Table;g=meta.k8s.io;v=v1';
            const request = httpRequest(`${server.url}${path}`, { method, headers }, (response) => {
              const streaming = response.headers['content-length'] === undefined && response.statusCode === 200;
              let text = '';
              response.on('data', (chunk: Buffer) => {
                text += chunk.toString();
                // a watch: the first line is enough
                if (streaming && text.includes('\n')) request.destroy();
              });
              const done = (): void => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), text });
              response.on('end', done);
              response.on('close', done);
              response.on('error', done);
            });
            request.on('error', reject);
            request.end(payload);
          });
          expect([200, 400, 404, 405]).toContain(answer.status);
          if (answer.status >= 400 && method !== 'HEAD') expect(JSON.parse(answer.text)).toMatchObject({ kind: 'Status', code: answer.status });
          if (answer.status === 200 && method === 'GET' && answer.type === 'application/json') {
            const firstLine = answer.text.split('\n')[0] ?? '';
            if (firstLine !== '') expect(() => JSON.parse(firstLine) as unknown).not.toThrow();
          }
        },
      ),
      { numRuns: 150 },
    );
    expect((await getJson(`${server.url}/version`)).status).toBe(200);
    expect(store.localRevision).toBe(4);
  });

  it('fuzz - a malformed HTTP request costs its connection only', async () => {
    const { store } = seededStore();
    const server = await startServer(cleanup, store);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('\u0000\u0001 NOT HTTP\r\nHost: \u0007\r\n\r\n'));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      cleanup.add(() => void socket.destroy());
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await getJson(`${server.url}/api/v1/pods`)).status).toBe(200);
  });
});
