// Bad input gets a Kubernetes Status with the right code, never a crash: each error path once, then
// a property test throwing random paths, queries and bodies at the server.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFailureStatus, startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer({ maxRequestBodyBytes: 3 * 1024 * 1024 });
  await test.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    body: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gizmos.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
          },
        ],
      },
    },
  });
  const deadline = Date.now() + 10_000;
  while ((await test.request('GET', '/apis/example.com/v1/namespaces/default/gizmos')).status !== 200) {
    if (Date.now() > deadline) throw new Error('the gizmos CRD was not served');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

afterAll(async () => {
  await test.close();
});

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';

async function expectStatus(
  response: Promise<{ status: number; json: unknown }>,
  code: number,
  reason: string,
): Promise<Record<string, unknown>> {
  const result = await response;
  expect(result.status).toBe(code);
  expect(isFailureStatus(result.json, code)).toBe(true);
  expect((result.json as Record<string, unknown>)['reason']).toBe(reason);
  return result.json as Record<string, unknown>;
}

describe('Status errors', () => {
  it('400 for malformed JSON and YAML, wrong types, a wrong kind or apiVersion, bad selectors', async () => {
    await expectStatus(test.request('POST', CONFIGMAPS, { body: '{"metadata": {"name": "x"', contentType: 'application/json' }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: 'metadata: [unclosed', contentType: 'application/yaml' }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: 'a: 1\na: 2\n', contentType: 'application/yaml' }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: '[1, 2]' }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: { metadata: 'not-an-object' } }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'x', labels: { a: 1 } } } }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } } }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'x' } } }), 400, 'BadRequest');
    await expectStatus(test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'x', namespace: 'other' } } }), 400, 'BadRequest');
    await expectStatus(test.request('GET', `${CONFIGMAPS}?labelSelector=${encodeURIComponent('a in (b')}`), 400, 'BadRequest');
    await expectStatus(test.request('GET', `${CONFIGMAPS}?fieldSelector=spec.nope%3Dx`), 400, 'BadRequest');
    // as kube-apiserver: a limit that does not decode is a 400, options that decode but do not validate a 422
    await expectStatus(test.request('GET', `${CONFIGMAPS}?limit=x`), 400, 'BadRequest');
    await expectStatus(test.request('POST', `${CONFIGMAPS}?dryRun=Some`, { body: { metadata: { name: 'x' } } }), 422, 'Invalid');
    await expectStatus(test.request('POST', `${CONFIGMAPS}?fieldValidation=Loose`, { body: { metadata: { name: 'x' } } }), 422, 'Invalid');
    await expectStatus(test.request('PUT', `${CONFIGMAPS}/a`, { body: { metadata: { name: 'b' } } }), 400, 'BadRequest');
    await expectStatus(test.request('GET', `${CONFIGMAPS}?continue=not-a-token`), 400, 'BadRequest');
  });

  it('400 for unknown fields under fieldValidation=Strict, a warning under Warn', async () => {
    const body = { apiVersion: 'example.com/v1', kind: 'Gizmo', metadata: { name: 'g1' }, spec: { size: 1, colour: 'red' } };
    const strict = await expectStatus(test.request('POST', '/apis/example.com/v1/namespaces/default/gizmos?fieldValidation=Strict', { body }), 400, 'BadRequest');
    expect(strict['message']).toBe('strict decoding error: unknown field "spec.colour"');
    const warned = await test.request('POST', '/apis/example.com/v1/namespaces/default/gizmos?fieldValidation=Warn', { body });
    expect(warned.status).toBe(201);
    expect(String(warned.headers['warning'])).toContain('unknown field \\"spec.colour\\"');
    expect(warned.json.spec).toEqual({ size: 1 });
  });

  it('401 without credentials or with a wrong token', async () => {
    await expectStatus(test.request('GET', '/api/v1/namespaces', { token: null }), 401, 'Unauthorized');
    await expectStatus(test.request('GET', '/api', { token: 'not-the-token' }), 401, 'Unauthorized');
    await expectStatus(test.request('GET', '/version', { token: null }), 401, 'Unauthorized');
    expect((await test.request('GET', '/healthz', { token: null })).status).toBe(200);
  });

  it('404 for unknown resources, groups and objects, and for a missing namespace', async () => {
    const missing = await expectStatus(test.request('GET', `${CONFIGMAPS}/nope`), 404, 'NotFound');
    expect(missing['message']).toBe('configmaps "nope" not found');
    expect(missing['details']).toEqual({ name: 'nope', group: '', kind: 'configmaps' });
    await expectStatus(test.request('GET', '/api/v1/namespaces/default/frobs'), 404, 'NotFound');
    await expectStatus(test.request('GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
    await expectStatus(test.request('GET', '/api/v2/pods'), 404, 'NotFound');
    await expectStatus(test.request('GET', '/nowhere'), 404, 'NotFound');
    const namespace = await expectStatus(test.request('POST', '/api/v1/namespaces/ghost/configmaps', { body: { metadata: { name: 'x' } } }), 404, 'NotFound');
    expect(namespace['message']).toBe('namespaces "ghost" not found');
  });

  it('405 for a method the path does not take', async () => {
    await expectStatus(test.request('POST', `${CONFIGMAPS}/named`, { body: {} }), 405, 'MethodNotAllowed');
    await expectStatus(test.request('PUT', CONFIGMAPS, { body: {} }), 405, 'MethodNotAllowed');
  });

  it('409 AlreadyExists and Conflict on a stale resourceVersion', async () => {
    const created = await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'twice' }, data: { a: '1' } } });
    expect(created.status).toBe(201);
    const exists = await expectStatus(test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'twice' } } }), 409, 'AlreadyExists');
    expect(exists['message']).toBe('configmaps "twice" already exists');
    const stale = { ...created.json, data: { a: '2' } };
    expect((await test.request('PUT', `${CONFIGMAPS}/twice`, { body: stale })).status).toBe(200);
    const conflict = await expectStatus(test.request('PUT', `${CONFIGMAPS}/twice`, { body: { ...stale, data: { a: '3' } } }), 409, 'Conflict');
    expect(conflict['message']).toBe(
      'Operation cannot be fulfilled on configmaps "twice": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('410 Expired for a continue token older than the compacted history', async () => {
    for (let index = 0; index < 5; index++) await test.request('POST', CONFIGMAPS, { body: { metadata: { name: `page-${index}` } } });
    const page = await test.request('GET', `${CONFIGMAPS}?limit=2`);
    expect(page.json.items).toHaveLength(2);
    const token = page.json.metadata.continue as string;
    expect(token).toBeTruthy();
    for (let index = 0; index < 5; index++) await test.request('POST', CONFIGMAPS, { body: { metadata: { name: `later-${index}` } } });
    test.server.storage.compact(1);
    await expectStatus(test.request('GET', `${CONFIGMAPS}?limit=2&continue=${encodeURIComponent(token)}`), 410, 'Expired');
  });

  it('413 for a body over 3 MiB', async () => {
    const huge = JSON.stringify({ metadata: { name: 'huge' }, data: { blob: 'x'.repeat(3 * 1024 * 1024 + 10) } });
    await expectStatus(test.request('POST', CONFIGMAPS, { body: huge }), 413, 'RequestEntityTooLarge');
    expect((await test.request('GET', '/version')).status).toBe(200);
  });

  it('415 for unknown content types and strategic merge patches of custom resources', async () => {
    await expectStatus(test.request('POST', CONFIGMAPS, { body: '<xml/>', contentType: 'application/xml' }), 415, 'UnsupportedMediaType');
    await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'patchme' } } });
    await expectStatus(test.request('PATCH', `${CONFIGMAPS}/patchme`, { body: {}, contentType: 'application/json' }), 415, 'UnsupportedMediaType');
    await test.request('POST', '/apis/example.com/v1/namespaces/default/gizmos', { body: { metadata: { name: 'smp' }, spec: { size: 1 } } });
    await expectStatus(
      test.request('PATCH', '/apis/example.com/v1/namespaces/default/gizmos/smp', { body: { spec: { size: 2 } }, contentType: 'application/strategic-merge-patch+json' }),
      415,
      'UnsupportedMediaType',
    );
  });

  it('422 for invalid names and fields, with causes', async () => {
    const invalid = await expectStatus(test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'Not_Valid' } } }), 422, 'Invalid');
    expect(invalid['details']).toMatchObject({ name: 'Not_Valid', kind: 'ConfigMap', causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }] });
    expect(String(invalid['message'])).toMatch(/^ConfigMap "Not_Valid" is invalid: metadata\.name: Invalid value: "Not_Valid": /);
    await expectStatus(test.request('POST', CONFIGMAPS, { body: { metadata: {} } }), 422, 'Invalid');
    await expectStatus(
      test.request('POST', '/apis/example.com/v1/namespaces/default/gizmos', { body: { metadata: { name: 'typed' }, spec: { size: 'large' } } }),
      422,
      'Invalid',
    );
    await expectStatus(
      test.request('PATCH', `${CONFIGMAPS}/patchme`, { body: [{ op: 'test', path: '/data/none', value: 'x' }], contentType: 'application/json-patch+json' }),
      422,
      'Invalid',
    );
  });

  it('503 with a Status for pod logs and exec when no kubelet client is configured', async () => {
    await test.request('POST', '/api/v1/namespaces/default/pods', {
      body: { metadata: { name: 'streamed' }, spec: { nodeName: 'edge-1', containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const log = await expectStatus(test.request('GET', '/api/v1/namespaces/default/pods/streamed/log'), 503, 'ServiceUnavailable');
    expect(String(log['message'])).toContain('no kubelet client configured');
    const logs = await test.kubectl(['logs', 'streamed']);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain('no kubelet client configured');
    const exec = await test.kubectl(['exec', 'streamed', '--', 'true']);
    expect(exec.code).not.toBe(0);
  });
});

const SEGMENTS = ['api', 'apis', 'v1', 'v2', 'namespaces', 'default', 'kube-system', 'pods', 'configmaps', 'secrets', 'nodes', 'status', 'log',
  'example.com', 'gizmos', 'apiextensions.k8s.io', 'customresourcedefinitions', 'coordination.k8s.io', 'leases', 'openapi', 'v3', '..', '%zz', '%2F',
  'apps', 'deployments', 'statefulsets', 'scale',
  '%00', 'a%00b', '%ED%A0%80', '%EF%BF%BF', 'x', ''];
/** segments sent without percent-encoding, to test the server's own decoding */
const RAW_SEGMENTS = new Set(['..', '%zz', '%2F', '%00', 'a%00b', '%ED%A0%80', '%EF%BF%BF']);
const QUERY_KEYS = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'dryRun', 'fieldManager', 'fieldValidation', 'gracePeriodSeconds',
  'propagationPolicy', 'includeObject', 'force', 'resourceVersionMatch'];
const CONTENT_TYPES = ['application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json',
  'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'text/plain', ''];

const objectBody = fc.record({
  apiVersion: fc.oneof(fc.constant('v1'), fc.constant('example.com/v1'), fc.string()),
  kind: fc.oneof(fc.constant('ConfigMap'), fc.constant('Pod'), fc.constant('Gizmo'), fc.string()),
  metadata: fc.oneof(fc.record({ name: fc.oneof(fc.constantFrom('a', 'b-1', 'x'), fc.string()), labels: fc.dictionary(fc.string(), fc.string()) }), fc.anything()),
  data: fc.anything(),
  spec: fc.anything(),
});

/** apps/v1 workloads shaped closely enough to reach the selector, template and strategy checks. */
const labels = fc.dictionary(fc.constantFrom('app', 'tier', 'bad key', ''), fc.oneof(fc.constantFrom('a', 'b', ''), fc.string()), { maxKeys: 2 });
const intOrPercent = fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constantFrom('0%', '25%', '101%', 'x%'), fc.anything());
const workloadBody = fc.record({
  apiVersion: fc.constant('apps/v1'),
  kind: fc.constantFrom('Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet'),
  metadata: fc.record({ name: fc.constantFrom('a', 'b-1', 'x') }),
  spec: fc.record(
    {
      replicas: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.anything()),
      selector: fc.oneof(
        fc.record({ matchLabels: labels }),
        fc.record({ matchExpressions: fc.array(fc.record({ key: fc.string(), operator: fc.constantFrom('In', 'NotIn', 'Exists', 'Bogus'), values: fc.array(fc.string()) })) }),
        fc.anything(),
      ),
      template: fc.oneof(
        fc.record({
          metadata: fc.record({ labels }),
          spec: fc.record({
            containers: fc.oneof(fc.array(fc.record({ name: fc.constantFrom('c', 'd', 'Bad'), image: fc.oneof(fc.constant('busybox'), fc.anything()) }), { maxLength: 2 }), fc.anything()),
            restartPolicy: fc.constantFrom('Always', 'Never', 7),
          }),
        }),
        fc.anything(),
      ),
      strategy: fc.oneof(fc.record({ type: fc.constantFrom('RollingUpdate', 'Recreate', 'x'), rollingUpdate: fc.record({ maxUnavailable: intOrPercent, maxSurge: intOrPercent }) }), fc.anything()),
      updateStrategy: fc.oneof(fc.record({ type: fc.constantFrom('RollingUpdate', 'OnDelete'), rollingUpdate: fc.record({ partition: intOrPercent, maxUnavailable: intOrPercent }) }), fc.anything()),
      podManagementPolicy: fc.constantFrom('OrderedReady', 'Parallel', 'Sometimes'),
      serviceName: fc.oneof(fc.constantFrom('db', 'Not_A_Name'), fc.anything()),
    },
    { requiredKeys: [] },
  ),
  status: fc.oneof(fc.record({ replicas: fc.integer({ min: -1, max: 2 }), readyReplicas: fc.anything() }), fc.anything()),
});

const RESOURCE_PATHS = [
  '/api/v1/namespaces/default/configmaps',
  '/api/v1/namespaces/default/pods',
  '/api/v1/namespaces/default/secrets',
  '/api/v1/namespaces/default/services',
  '/api/v1/namespaces/default/events',
  '/api/v1/nodes',
  '/api/v1/namespaces',
  '/apis/example.com/v1/namespaces/default/gizmos',
  '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
  '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  '/apis/apps/v1/namespaces/default/deployments',
  '/apis/apps/v1/namespaces/default/replicasets',
  '/apis/apps/v1/namespaces/default/daemonsets',
  '/apis/apps/v1/namespaces/default/statefulsets',
];

/** Mostly paths of served resources (collection, object, status), some random. */
const paths = fc.oneof(
  fc
    .tuple(fc.constantFrom(...RESOURCE_PATHS), fc.constantFrom('', '/a', '/b-1', '/x', '/a/status', '/Bad_Name', '/a/exec', '/%00', '/a%00', '/%EF%BF%BF'))
    .map(([base, rest]) => base + rest),
  fc
    .array(fc.oneof(fc.constantFrom(...SEGMENTS), fc.string({ maxLength: 8 })), { maxLength: 7 })
    .map((segments) => `/${segments.map((segment) => (RAW_SEGMENTS.has(segment) ? segment : encodeURIComponent(segment))).join('/')}`),
);

describe('random input', () => {
  it('every response is a well-formed Status or object, never a 5xx, and the server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        paths,
        fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 12 })), { maxLength: 3 }),
        fc.constantFrom(...CONTENT_TYPES),
        fc.oneof(objectBody.map((body) => JSON.stringify(body)), workloadBody.map((body) => JSON.stringify(body)), fc.json(), fc.string(), fc.constant('')),
        async (method, base, query, contentType, body) => {
          const search = new URLSearchParams(query).toString();
          const path = `${base}${search === '' ? '' : `?${search}`}`;
          const response = await test.request(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : body, contentType: contentType || undefined });
          expect(response.status, `${method} ${path}`).toBeLessThan(500);
          if (response.status >= 400) {
            expect(isFailureStatus(response.json, response.status), `${method} ${path} → ${response.text}`).toBe(true);
          } else if (response.headers['content-type']?.toString().startsWith('application/json')) {
            expect(typeof response.json, `${method} ${path}`).toBe('object');
          }
        },
      ),
      { numRuns: Number(process.env['APISERVER_FUZZ_RUNS'] ?? 500) },
    );
    expect((await test.request('GET', '/version')).json.major).toBe('1');
  });
});
