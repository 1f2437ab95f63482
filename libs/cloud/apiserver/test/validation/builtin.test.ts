import { describe, expect, it } from 'vitest';
import { BUILTIN_KIND_SCOPES, formatFieldError, normalizeSecret, validateBuiltin } from '../../src/validation/index';

const meta = { name: 'web', namespace: 'default' };
const pod = (spec: unknown) => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta, spec });
const summary = (kind: string, obj: unknown) => validateBuiltin(kind, obj).map((e) => `${e.field}:${e.type}`);

describe('validation - built-in kinds', () => {
  it('pod - a minimal pod is valid', () => {
    expect(validateBuiltin('Pod', pod({ containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] }))).toEqual([]);
  });

  it('pod - containers are required and need name and image', () => {
    expect(summary('Pod', pod({}))).toEqual(['spec.containers:FieldValueRequired']);
    expect(summary('Pod', pod({ containers: [] }))).toEqual(['spec.containers:FieldValueRequired']);
    expect(summary('Pod', { metadata: meta })).toEqual(['spec.containers:FieldValueRequired']);
    expect(validateBuiltin('Pod', pod({ containers: [{ name: 'web' }] })).map(formatFieldError)).toEqual(['spec.containers[0].image: Required value']);
  });

  it('pod - container names are DNS labels, unique across init and app containers', () => {
    expect(summary('Pod', pod({ initContainers: [{ name: 'a', image: 'x' }], containers: [{ name: 'a', image: 'x' }, { name: 'B', image: 'x' }] }))).toEqual([
      'spec.containers[0].name:FieldValueDuplicate',
      'spec.containers[1].name:FieldValueInvalid',
    ]);
  });

  it('pod - ports, enums and env', () => {
    const errs = validateBuiltin(
      'Pod',
      pod({
        restartPolicy: 'Sometimes',
        containers: [{ name: 'a', image: 'x', imagePullPolicy: 'Maybe', ports: [{ containerPort: 70000, protocol: 'ICMP' }, {}], env: [{ value: 'v' }] }],
      }),
    ).map(formatFieldError);
    expect(errs).toEqual([
      'spec.containers[0].imagePullPolicy: Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"',
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[1].containerPort: Required value',
      'spec.containers[0].env[0].name: Required value',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]);
  });

  it('pod - wrong types give FieldValueTypeInvalid with the path, never a crash', () => {
    expect(summary('Pod', pod({ containers: { name: 'a' } }))).toEqual(['spec.containers:FieldValueTypeInvalid']);
    expect(summary('Pod', pod({ containers: ['x', { name: 1, image: [], ports: 'p' }] }))).toEqual([
      'spec.containers[0]:FieldValueTypeInvalid',
      'spec.containers[1].name:FieldValueTypeInvalid',
      'spec.containers[1].image:FieldValueTypeInvalid',
      'spec.containers[1].ports:FieldValueTypeInvalid',
    ]);
    expect(summary('Pod', pod('spec'))).toEqual(['spec:FieldValueTypeInvalid']);
    expect(summary('Pod', 'not an object')).toEqual([':FieldValueTypeInvalid']);
  });

  it('configmap - keys and string values', () => {
    const cm = (data: unknown, extra = {}) => ({ metadata: meta, data, ...extra });
    expect(validateBuiltin('ConfigMap', cm({ 'app.properties': 'a=b', KEY_1: '' }))).toEqual([]);
    expect(summary('ConfigMap', cm({ 'bad key': 'v', '..x': 'v', n: 1 }))).toEqual([
      'data[n]:FieldValueTypeInvalid',
      'data[bad key]:FieldValueInvalid',
      'data[..x]:FieldValueInvalid',
    ]);
    expect(summary('ConfigMap', cm({ a: 'x' }, { binaryData: { a: 'eA==' } }))).toEqual(['data[a]:FieldValueInvalid']);
  });

  it('secret - data must be base64; stringData merges into data', () => {
    const secret = { metadata: meta, data: { a: 'YQ==' }, stringData: { b: 'héllo', a: 'override' } };
    const normalized = normalizeSecret(secret) as Record<string, unknown>;
    expect(normalized['stringData']).toBeUndefined();
    expect(normalized['data']).toEqual({ a: Buffer.from('override').toString('base64'), b: Buffer.from('héllo').toString('base64') });
    expect(secret.stringData).toBeDefined(); // input untouched
    expect(validateBuiltin('Secret', normalized)).toEqual([]);
    expect(summary('Secret', { metadata: meta, data: { a: 'not base64!' } })).toEqual(['data[a]:FieldValueInvalid']);
    const partial = normalizeSecret({ metadata: meta, stringData: { ok: 'v', bad: 3 } }) as Record<string, unknown>;
    expect(partial['stringData']).toEqual({ bad: 3 });
    expect(summary('Secret', partial)).toEqual(['stringData[bad]:FieldValueTypeInvalid']);
    expect(summary('Secret', { metadata: meta, type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==' } })).toEqual(['data[tls.key]:FieldValueRequired']);
    expect(normalizeSecret('x')).toBe('x');
  });

  it('service - ports and type', () => {
    const svc = (spec: unknown) => ({ metadata: meta, spec });
    expect(validateBuiltin('Service', svc({ selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] }))).toEqual([]);
    expect(validateBuiltin('Service', svc({ type: 'ExternalName', externalName: 'example.com' }))).toEqual([]);
    expect(validateBuiltin('Service', svc({ clusterIP: 'None' }))).toEqual([]);
    expect(summary('Service', svc({}))).toEqual(['spec.ports:FieldValueRequired']);
    expect(summary('Service', svc({ type: 'Magic', ports: [{ port: 0, name: 'a' }, { port: 80, name: 'a' }, { port: 80, nodePort: 30000 }] }))).toEqual([
      'spec.type:FieldValueNotSupported',
      'spec.ports[0].port:FieldValueRequired',
      'spec.ports[1].name:FieldValueDuplicate',
      'spec.ports[2].name:FieldValueRequired',
      'spec.ports[2]:FieldValueDuplicate',
    ]);
    expect(summary('Service', svc({ ports: [{ port: 99999, targetPort: 'Not_A_Name' }] }))).toEqual([
      'spec.ports[0].port:FieldValueInvalid',
      'spec.ports[0].targetPort:FieldValueInvalid',
    ]);
  });

  it('cluster-scoped kinds - Namespace and Node', () => {
    expect(BUILTIN_KIND_SCOPES['Namespace']).toBe('Cluster');
    expect(validateBuiltin('Namespace', { metadata: { name: 'team-a' } })).toEqual([]);
    expect(summary('Namespace', { metadata: { name: 'team-a', namespace: 'x' } })).toEqual(['metadata.namespace:FieldValueForbidden']);
    expect(validateBuiltin('Node', { metadata: { name: 'edge-1' }, spec: { podCIDR: '10.0.0.0/24', taints: [{ key: 'k', effect: 'NoSchedule' }] } })).toEqual([]);
    expect(summary('Node', { metadata: { name: 'edge-1' }, spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } })).toEqual(['spec.taints[0].effect:FieldValueNotSupported']);
  });

  it('other kinds - Event, Endpoints, ServiceAccount, Lease', () => {
    expect(validateBuiltin('Event', { metadata: meta, involvedObject: { kind: 'Pod', name: 'p' }, type: 'Normal', reason: 'Started', count: 1 })).toEqual([]);
    expect(summary('Event', { metadata: meta, type: 'Info', count: -1 })).toEqual(['type:FieldValueNotSupported', 'count:FieldValueInvalid']);
    expect(validateBuiltin('Endpoints', { metadata: meta, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] })).toEqual([]);
    expect(summary('Endpoints', { metadata: meta, subsets: [{ addresses: [{ ip: 'x' }, {}] }] })).toEqual([
      'subsets[0].addresses[0].ip:FieldValueInvalid',
      'subsets[0].addresses[1].ip:FieldValueRequired',
    ]);
    expect(validateBuiltin('ServiceAccount', { metadata: meta, secrets: [{ name: 's' }], automountServiceAccountToken: false })).toEqual([]);
    expect(summary('ServiceAccount', { metadata: meta, secrets: 'x' })).toEqual(['secrets:FieldValueTypeInvalid']);
    expect(
      validateBuiltin('Lease', { metadata: meta, spec: { holderIdentity: 'n', leaseDurationSeconds: 40, renewTime: '2024-01-01T00:00:00.000000Z' } }),
    ).toEqual([]);
    expect(summary('Lease', { metadata: meta, spec: { leaseDurationSeconds: 0, renewTime: 'yesterday' } })).toEqual([
      'spec.leaseDurationSeconds:FieldValueInvalid',
      'spec.renewTime:FieldValueInvalid',
    ]);
  });

  it('unknown kinds - no opinion', () => {
    expect(validateBuiltin('Widget', { anything: true })).toEqual([]);
    expect(validateBuiltin('constructor', {})).toEqual([]);
  });

  it('request namespace - may stand in for metadata.namespace', () => {
    expect(validateBuiltin('ConfigMap', { metadata: { name: 'a' } }, { namespace: 'default' })).toEqual([]);
    expect(summary('ConfigMap', { metadata: { name: 'a' } })).toEqual(['metadata.namespace:FieldValueRequired']);
  });
});
