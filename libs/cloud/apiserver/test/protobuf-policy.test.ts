// The protobuf decoder on Evictions, DeleteOptions and PodDisruptionBudgets: vectors written field
// number by field number from generated.proto, `kubectl create poddisruptionbudget` (protobuf) against
// its own JSON, and random bytes that must only ever be a 400 or 415, never a crash or a 500.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtobufDecodeError, ProtobufUnsupportedError, decodeKubernetesProtobuf } from '../src/protobuf';
import { startTestServer, type TestServer } from './harness';
import { bytesField, kubernetesEnvelope, objectMeta, varintField } from './protobuf-encoder';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  await test.close();
});

describe('protobuf - policy kinds and DeleteOptions', () => {
  it('protobuf - an Eviction with every DeleteOptions field decodes to its JSON form', () => {
    const body = kubernetesEnvelope('policy/v1', 'Eviction', [
      objectMeta('web-0', 'shop'),
      bytesField(2, [
        varintField(1, 15),
        bytesField(2, [bytesField(1, 'uid-1'), bytesField(2, '42')]),
        varintField(3, false),
        bytesField(4, 'Foreground'),
        bytesField(5, 'All'),
      ]),
    ]);
    expect(decodeKubernetesProtobuf(body)).toEqual({
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'web-0', namespace: 'shop' },
      deleteOptions: { gracePeriodSeconds: 15, preconditions: { uid: 'uid-1', resourceVersion: '42' }, orphanDependents: false, propagationPolicy: 'Foreground', dryRun: ['All'] },
    });
  });

  it('protobuf - a DeleteOptions body is read whatever group version the client put on it', () => {
    for (const apiVersion of ['v1', 'meta.k8s.io/v1', 'apps/v1']) {
      expect(decodeKubernetesProtobuf(kubernetesEnvelope(apiVersion, 'DeleteOptions', [varintField(1, 0), bytesField(4, 'Background')]))).toEqual({
        apiVersion,
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        propagationPolicy: 'Background',
      });
    }
  });

  it('protobuf - a PodDisruptionBudget with int-or-percent values, selector and status decodes', () => {
    const intOrString = (number: number, value: number | string): Buffer =>
      bytesField(number, typeof value === 'number' ? [varintField(1, 0), varintField(2, value)] : [varintField(1, 1), bytesField(3, value)]);
    const body = kubernetesEnvelope('policy/v1', 'PodDisruptionBudget', [
      objectMeta('web'),
      bytesField(2, [intOrString(1, 0), bytesField(2, [bytesField(1, [bytesField(1, 'app'), bytesField(2, 'web')])]), bytesField(4, 'AlwaysAllow')]),
      bytesField(3, [varintField(1, 0), bytesField(2, [bytesField(1, 'web-1'), bytesField(2, [varintField(1, 1_700_000_000)])]), varintField(3, 0)]),
    ]);
    expect(decodeKubernetesProtobuf(body)).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { minAvailable: 0, selector: { matchLabels: { app: 'web' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
      status: { disruptedPods: { 'web-1': '2023-11-14T22:13:20Z' } },
    });
    const percent = kubernetesEnvelope('policy/v1', 'PodDisruptionBudget', [objectMeta('p'), bytesField(2, [intOrString(3, '25%')])]);
    expect(decodeKubernetesProtobuf(percent)['spec']).toEqual({ maxUnavailable: '25%' });
  });

  it('protobuf - random bytes after the magic are a ProtobufDecodeError and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.constantFrom('Eviction', 'DeleteOptions', 'PodDisruptionBudget'), (bytes, kind) => {
        // random content inside a well-formed envelope reaches the per-kind decoders, not just the envelope
        for (const body of [Buffer.concat([Buffer.from('k8s\0'), Buffer.from(bytes)]), kubernetesEnvelope('policy/v1', kind, [Buffer.from(bytes)])]) {
          try {
            decodeKubernetesProtobuf(body);
          } catch (error) {
            expect(error).toBeInstanceOf(ProtobufDecodeError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('protobuf - random Eviction and DELETE bodies over HTTP are 400 or 415, never 500, and the server keeps serving', async () => {
    await test.request('POST', '/api/v1/namespaces/default/pods', {
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'fuzz' }, spec: { nodeName: 'n1', containers: [{ name: 'a', image: 'busybox:1.36' }] } },
    });
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), 150);
    for (const [index, bytes] of samples.entries()) {
      const raw = index % 2 === 0 ? kubernetesEnvelope('policy/v1', 'Eviction', [Buffer.from(bytes)]) : kubernetesEnvelope('v1', 'DeleteOptions', [Buffer.from(bytes)]);
      const method = index % 2 === 0 ? 'POST' : 'DELETE';
      const path = index % 2 === 0 ? '/api/v1/namespaces/default/pods/fuzz/eviction' : '/api/v1/namespaces/default/pods/not-there';
      const answer = await test.request(method, path, { body: raw, contentType: 'application/vnd.kubernetes.protobuf' });
      // a random body may even be a valid Eviction naming no pod (400 name mismatch) or some DeleteOptions (404)
      expect([400, 404, 409, 415, 422], `${answer.status} ${answer.text}`).toContain(answer.status);
    }
    expect((await test.request('GET', '/api/v1/namespaces/default/pods/fuzz')).status).toBe(200);
  });

  it('protobuf - kubectl create poddisruptionbudget (protobuf) stores what kubectl meant; custom resources are 415', async () => {
    const args = ['create', 'poddisruptionbudget', 'pdb-web', '--selector=app=web', '--min-available=50%', '-n', 'default'];
    const intended = JSON.parse((await test.kubectl([...args, '--dry-run=client', '-o', 'json'])).stdout) as { spec: unknown };
    const created = await test.kubectl(args);
    expect(created.stderr).toBe('');
    const stored = JSON.parse((await test.kubectl(['get', 'pdb', 'pdb-web', '-n', 'default', '-o', 'json'])).stdout) as { spec: unknown; status: unknown };
    expect(stored.spec).toEqual(intended.spec);
    expect(stored.status).toEqual({ disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    const table = await test.kubectl(['get', 'pdb', '-n', 'default']);
    expect(table.stdout).toMatch(/NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\npdb-web\s+50%\s+N\/A\s+0\s+/);

    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gadgets.example.com' },
      spec: {
        group: 'example.com', scope: 'Namespaced', names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    expect((await test.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd })).status).toBe(201);
    let answer = { status: 0, text: '' };
    for (let attempt = 0; attempt < 100 && answer.status !== 415; attempt++) {
      answer = await test.request('POST', '/apis/example.com/v1/namespaces/default/gadgets', {
        body: kubernetesEnvelope('example.com/v1', 'Gadget', [objectMeta('g')]),
        contentType: 'application/vnd.kubernetes.protobuf',
      });
      if (answer.status === 404) await new Promise((resolve) => setTimeout(resolve, 100)); // not established yet
    }
    expect(answer.status, answer.text).toBe(415);
    expect(answer.text).toContain('gadgets.example.com has no protobuf encoding');
  });

  it('protobuf - a field number outside the schema is refused as unsupported (415), not silently dropped', () => {
    expect(() => decodeKubernetesProtobuf(kubernetesEnvelope('policy/v1', 'PodDisruptionBudget', [bytesField(2, [bytesField(9, 'x')])]))).toThrow(ProtobufUnsupportedError);
  });
});
