import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../src/inventory';
import { parseResourceVersion } from '../../src/objects';
import { podReferences } from '../../src/references';

describe('references - pod', () => {
  it('finds configmaps and secrets in env, envFrom, volumes, projected volumes and imagePullSecrets of all containers', () => {
    const refs = podReferences({
      metadata: { name: 'p' },
      spec: {
        initContainers: [{ env: [{ valueFrom: { secretKeyRef: { name: 's-init' } } }] }],
        containers: [
          { env: [{ valueFrom: { configMapKeyRef: { name: 'c-env' } } }, { value: 'plain' }], envFrom: [{ configMapRef: { name: 'c-from' } }, { secretRef: { name: 's-from' } }] },
        ],
        ephemeralContainers: [{ envFrom: [{ configMapRef: { name: 'c-debug' } }] }],
        volumes: [
          { configMap: { name: 'c-vol' } },
          { secret: { secretName: 's-vol' } },
          { projected: { sources: [{ configMap: { name: 'c-proj' } }, { secret: { name: 's-proj' } }, { serviceAccountToken: {} }] } },
          { emptyDir: {} },
        ],
        imagePullSecrets: [{ name: 's-pull' }],
      },
    });
    expect([...refs.configMaps].sort()).toEqual(['c-debug', 'c-env', 'c-from', 'c-proj', 'c-vol']);
    expect([...refs.secrets].sort()).toEqual(['s-from', 's-init', 's-proj', 's-pull', 's-vol']);
  });

  it('tolerates pods without a spec or with odd shapes', () => {
    expect(podReferences({ metadata: {} }).configMaps.size).toBe(0);
    expect(podReferences({ metadata: {}, spec: { containers: 'nope', volumes: [null, 3] } }).secrets.size).toBe(0);
  });
});

describe('inventory - parsing', () => {
  it('reads items, puts nodes in namespace null and skips types that are not synced', () => {
    const items = parseInventory({
      items: [
        { type: 'node', namespace: null, name: 'n1', resourceVersion: '7' },
        { type: 'pod', namespace: 'apps', name: 'p', resourceVersion: 12 },
        { type: 'device', namespace: 'apps', name: 'd', resourceVersion: '3' },
      ],
    });
    expect(items).toEqual([
      { type: 'node', namespace: 'null', name: 'n1', resourceVersion: '7' },
      { type: 'pod', namespace: 'apps', name: 'p', resourceVersion: '12' },
    ]);
  });

  it('refuses a malformed inventory as a whole', () => {
    expect(() => parseInventory({})).toThrow(/items/);
    expect(() => parseInventory({ items: [{ type: 'pod', namespace: 'apps', name: 'p', resourceVersion: 'abc' }] })).toThrow(/resourceVersion/);
    expect(() => parseInventory({ items: [{ type: 'pod', namespace: 'null', name: 'p', resourceVersion: '1' }] })).toThrow(/namespace/);
  });

  it('compares resourceVersions as integers', () => {
    expect(parseResourceVersion('10') > parseResourceVersion('9')).toBe(true);
    expect(parseResourceVersion('x')).toBe(0n);
  });
});
