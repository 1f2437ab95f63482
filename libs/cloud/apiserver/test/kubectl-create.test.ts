// `kubectl create <kind>` sends protobuf from its typed clients: what the server stores must equal
// what kubectl would have sent as JSON (its --dry-run=client -o json output).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProtobufDecodeError, decodeKubernetesProtobuf } from '../src/protobuf';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  await test.close();
});

type Json = Record<string, unknown>;

/** Every field of `expected` is in `actual` with the same value (the server adds defaults and metadata). */
function expectContains(actual: unknown, expected: unknown, path = ''): void {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    expect(typeof actual, path).toBe('object');
    for (const [key, value] of Object.entries(expected)) {
      if (value === null) continue; // creationTimestamp: null and other unset fields
      expectContains((actual as Json)[key], value, `${path}.${key}`);
    }
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), path).toBe(true);
    expected.forEach((item, index) => expectContains((actual as unknown[])[index], item, `${path}[${index}]`));
    return;
  }
  expect(actual, path).toEqual(expected);
}

const GENERATORS: [kind: string, args: string[]][] = [
  ['configmap', ['configmap', 'pc', '--from-literal=a=1', '--from-literal=b=two words']],
  ['secret', ['secret', 'generic', 'ps', '--from-literal=user=admin', '--type=example.com/custom']],
  ['secret', ['secret', 'docker-registry', 'pull', '--docker-server=registry.example', '--docker-username=u', '--docker-password=p']],
  ['namespace', ['namespace', 'pns']],
  ['serviceaccount', ['serviceaccount', 'psa']],
  ['service', ['service', 'clusterip', 'psvc', '--tcp=80:8080', '--tcp=443:https']],
  ['service', ['service', 'nodeport', 'pnp', '--tcp=80:8080', '--node-port=30080']],
  ['service', ['service', 'externalname', 'pext', '--external-name=example.com']],
  ['deployment', ['deployment', 'pdeploy', '--image=busybox:1.36', '--image=nginx:latest', '--port=8080', '--replicas=3']],
];

describe('kubectl create (protobuf request bodies)', () => {
  it.each(GENERATORS)('kubectl create %s stores what kubectl meant', async (kind, args) => {
    const namespace = kind === 'namespace' ? [] : ['-n', 'default'];
    const intended = JSON.parse((await test.kubectl(['create', ...args, ...namespace, '--dry-run=client', '-o', 'json'])).stdout) as Json;
    const created = await test.kubectl(['create', ...args, ...namespace]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toContain('created');
    const name = (intended['metadata'] as Json)['name'] as string;
    const stored = JSON.parse((await test.kubectl(['get', kind, name, ...namespace, '-o', 'json'])).stdout) as Json;
    expectContains(stored, intended);
  });

  it('refuses kinds and fields it cannot decode with 415, and random bytes never crash the decoder', async () => {
    const response = await test.request('POST', '/api/v1/namespaces/default/endpoints', {
      body: Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09]), Buffer.from('Endpoints')]),
      contentType: 'application/vnd.kubernetes.protobuf',
    });
    expect(response.status).toBe(415);
    expect(response.json.message).toContain('Endpoints in version "v1" is not understood as protobuf');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeKubernetesProtobuf(Buffer.concat([Buffer.from('k8s\0'), Buffer.from(bytes)]));
        } catch (error) {
          expect(error).toBeInstanceOf(ProtobufDecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
