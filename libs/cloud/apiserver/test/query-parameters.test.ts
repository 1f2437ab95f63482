// Query parameters as clients other than kubectl send them, over raw HTTPS: the official Python
// client spells booleans `True`/`False`, curl users write whatever they like. The server decodes each
// parameter as kube-apiserver does and answers the values it refuses with the same Status.
import type { ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from './harness';

let test: TestServer;
const open: ClientRequest[] = [];

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  for (const request of open) request.destroy();
  await test.close();
});

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';

interface RawWatch {
  status: () => number;
  events: { type: string; object: { kind?: string; metadata?: { name?: string; annotations?: Record<string, string> } } }[];
  ended: () => boolean;
}

/** A watch read line by line as the Python client's `watch.Watch().stream` reads it. */
function rawWatch(path: string): RawWatch {
  const base = new URL(test.server.url);
  const events: RawWatch['events'] = [];
  let status = 0;
  let ended = false;
  let buffered = '';
  const request = httpsRequest(
    {
      hostname: base.hostname,
      port: base.port,
      path,
      headers: { authorization: `Bearer ${test.server.adminToken}`, accept: 'application/json', 'user-agent': 'OpenAPI-Generator/31.0.0/python' },
      ca: test.server.caCertPem,
    },
    (response) => {
      status = response.statusCode ?? 0;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== '') events.push(JSON.parse(line) as RawWatch['events'][number]);
        }
      });
      response.on('end', () => (ended = true));
      response.on('error', () => (ended = true));
    },
  );
  request.on('error', () => (ended = true));
  request.end();
  open.push(request);
  return { status: () => status, events, ended: () => ended };
}

describe('query parameters - booleans as kube-apiserver decodes them', () => {
  it('a watch with watch=True (the Python client) delivers ADDED and then live events', async () => {
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'py-first' } } });
    const watch = rawWatch(`${CONFIGMAPS}?watch=True&timeoutSeconds=60`);
    await waitFor(() => watch.events.some((event) => event.object.metadata?.name === 'py-first'), 'the ADDED event of the existing configmap');
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'py-second' } } });
    await waitFor(() => watch.events.some((event) => event.object.metadata?.name === 'py-second'), 'the live ADDED event');
    expect(watch.status()).toBe(200);
    expect(watch.events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'ConfigMap' } });
  });

  it('watch=yes is a watch and watch=False a list, as on kube-apiserver (only 0 and false are false)', async () => {
    const watch = rawWatch(`${CONFIGMAPS}?watch=yes&timeoutSeconds=60`);
    await waitFor(() => watch.events.length > 0, 'the watch=yes events');
    expect(watch.events[0]?.type).toBe('ADDED');
    for (const spelling of ['False', 'false', 'FALSE', '0']) {
      const list = await test.request('GET', `${CONFIGMAPS}?watch=${spelling}`);
      expect([spelling, list.status, list.json.kind]).toEqual([spelling, 200, 'ConfigMapList']);
    }
  });

  it('watch-list: sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan gives the state, the end bookmark, then live events', async () => {
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'wl-first' } } });
    const watch = rawWatch(`${CONFIGMAPS}?watch=True&sendInitialEvents=True&allowWatchBookmarks=True&resourceVersionMatch=NotOlderThan&timeoutSeconds=60`);
    await waitFor(() => watch.events.some((event) => event.type === 'BOOKMARK'), 'the initial-events-end bookmark');
    const bookmark = watch.events.findIndex((event) => event.type === 'BOOKMARK');
    expect(watch.events.slice(0, bookmark).every((event) => event.type === 'ADDED')).toBe(true);
    expect(watch.events.slice(0, bookmark).map((event) => event.object.metadata?.name)).toContain('wl-first');
    expect(watch.events[bookmark]?.object.metadata?.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'wl-live' } } });
    await waitFor(() => watch.events.slice(bookmark).some((event) => event.object.metadata?.name === 'wl-live'), 'the live event after the bookmark');
  });

  it('pretty=true indents the JSON; pretty=yes is false, as strconv.ParseBool would have it', async () => {
    const pretty = await test.request('GET', `${CONFIGMAPS}?pretty=true`);
    expect(pretty.text).toMatch(/^\{\n {2}"kind": "ConfigMapList"/);
    const compact = await test.request('GET', `${CONFIGMAPS}?pretty=yes`);
    expect(compact.text.startsWith('{"kind":"ConfigMapList"')).toBe(true);
  });
});

describe('query parameters - refused values get kube-apiserver Status errors', () => {
  it('limit=abc and timeoutSeconds=soon are 400 BadRequest naming the parameter', async () => {
    const list = await test.request('GET', `${CONFIGMAPS}?limit=abc`);
    expect([list.status, list.json.reason]).toEqual([400, 'BadRequest']);
    expect(list.json.message).toBe('invalid value for query parameter limit: strconv.ParseInt: parsing "abc": invalid syntax');
    const watch = await test.request('GET', `${CONFIGMAPS}?watch=1&timeoutSeconds=soon`);
    expect([watch.status, watch.json.reason]).toEqual([400, 'BadRequest']);
    expect(watch.json.message).toContain('timeoutSeconds');
  });

  it('dryRun=Some and fieldValidation=Loud are 422 Invalid CreateOptions naming the field, and nothing is written', async () => {
    const dryRun = await test.request('POST', `${CONFIGMAPS}?dryRun=Some`, { body: { metadata: { name: 'never-some' } } });
    expect([dryRun.status, dryRun.json.reason]).toEqual([422, 'Invalid']);
    expect(dryRun.json.message).toBe('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"');
    expect(dryRun.json.details.causes).toEqual([{ reason: 'FieldValueNotSupported', field: 'dryRun', message: 'Unsupported value: []string{"Some"}: supported values: "All"' }]);
    const loud = await test.request('POST', `${CONFIGMAPS}?fieldValidation=Loud`, { body: { metadata: { name: 'never-loud' } } });
    expect([loud.status, loud.json.reason]).toEqual([422, 'Invalid']);
    expect(loud.json.message).toBe('CreateOptions.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", "Strict", "Warn"');
    for (const name of ['never-some', 'never-loud']) expect((await test.request('GET', `${CONFIGMAPS}/${name}`)).status).toBe(404);
  });

  it('updates and patches validate their options too (UpdateOptions, PatchOptions)', async () => {
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'opts' } } });
    const put = await test.request('PUT', `${CONFIGMAPS}/opts?fieldManager=${encodeURIComponent('a\tb')}`, { body: { metadata: { name: 'opts' } } });
    expect([put.status, put.json.message]).toEqual([422, 'UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\tb": invalid character U+0009 (at position 1)']);
    const force = await test.request('PATCH', `${CONFIGMAPS}/opts?force=true`, { body: { data: { a: 'b' } }, contentType: 'application/merge-patch+json' });
    expect([force.status, force.json.message]).toEqual([422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch']);
    expect((await test.request('GET', `${CONFIGMAPS}/opts`)).json.data).toBeUndefined();
  });

  it('list and watch option combinations kube-apiserver forbids are 422 Invalid ListOptions', async () => {
    const list = await test.request('GET', `${CONFIGMAPS}?resourceVersion=0&resourceVersionMatch=Exact`);
    expect([list.status, list.json.message]).toEqual([422, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"']);
    const watch = await test.request('GET', `${CONFIGMAPS}?watch=true&sendInitialEvents=true`);
    expect([watch.status, watch.json.message]).toEqual([422, 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan']);
  });

  it('delete: an unknown propagationPolicy is 422 Invalid DeleteOptions; a negative grace period means one second', async () => {
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'doomed' } } });
    const sideways = await test.request('DELETE', `${CONFIGMAPS}/doomed?propagationPolicy=Sideways`);
    expect([sideways.status, sideways.json.message]).toEqual([
      422,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"',
    ]);
    expect((await test.request('GET', `${CONFIGMAPS}/doomed`)).status).toBe(200);
    const negative = await test.request('DELETE', `${CONFIGMAPS}/doomed?gracePeriodSeconds=-1`);
    expect(negative.status).toBe(200);
    expect((await test.request('GET', `${CONFIGMAPS}/doomed`)).status).toBe(404);
  });
});
