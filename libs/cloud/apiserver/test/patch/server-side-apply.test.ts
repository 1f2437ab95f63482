import { describe, expect, it } from 'vitest';
import { PatchError, serverSideApply } from '../../src/patch/index';
import type { ManagedFieldsEntry } from '../../src/patch/index';

const deployment = (spec: Record<string, unknown>, labels?: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', ...(labels ? { labels } : {}) },
  spec,
});
const template = (containers: unknown[]) => ({ spec: { containers } });
const managed = (obj: Record<string, unknown>) => (obj['metadata'] as { managedFields: ManagedFieldsEntry[] }).managedFields;

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError');
}

describe('patch - server-side apply', () => {
  it('ssa - creating records an Apply entry with FieldsV1', () => {
    const out = serverSideApply(undefined, deployment({ replicas: 2, template: template([{ name: 'app', image: 'app:1' }]) }, { app: 'web' }), {
      fieldManager: 'kubectl',
      kind: 'Deployment',
      time: '2024-01-01T00:00:00Z',
    });
    expect(out['spec']).toEqual({ replicas: 2, template: template([{ name: 'app', image: 'app:1' }]) });
    const [entry] = managed(out);
    expect(entry).toEqual({
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: '2024-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:name': {}, 'f:image': {} } } } },
        },
      },
    });
  });

  it('ssa - merges onto fields set by others and keeps them', () => {
    const live = { ...deployment({ replicas: 3, paused: false, template: template([{ name: 'app', image: 'app:1' }, { name: 'side', image: 's' }]) }) };
    const out = serverSideApply(live, deployment({ template: template([{ name: 'app', image: 'app:2' }]) }), { fieldManager: 'ci', kind: 'Deployment' });
    expect(out['spec']).toEqual({ replicas: 3, paused: false, template: template([{ name: 'app', image: 'app:2' }, { name: 'side', image: 's' }]) });
  });

  it('ssa - fields dropped from the configuration are removed unless someone else owns them', () => {
    const first = serverSideApply(undefined, deployment({ replicas: 2, minReadySeconds: 5 }, { app: 'web', tier: 'fe' }), { fieldManager: 'kubectl' });
    const second = serverSideApply(first, deployment({ replicas: 2 }, { app: 'web' }), { fieldManager: 'kubectl' });
    expect(second['spec']).toEqual({ replicas: 2 });
    expect((second['metadata'] as { labels: unknown }).labels).toEqual({ app: 'web' });
    // another applier sharing minReadySeconds keeps it alive
    const shared = serverSideApply(first, deployment({ minReadySeconds: 5 }), { fieldManager: 'other' });
    const third = serverSideApply(shared, deployment({ replicas: 2 }, { app: 'web' }), { fieldManager: 'kubectl' });
    expect(third['spec']).toEqual({ replicas: 2, minReadySeconds: 5 });
    expect(managed(third).map((e) => e.manager).sort()).toEqual(['kubectl', 'other']);
  });

  it('ssa - changing a field owned by another manager is a 409 conflict unless forced', () => {
    const first = serverSideApply(undefined, deployment({ replicas: 2 }), { fieldManager: 'kubectl' });
    const err = patchError(() => serverSideApply(first, deployment({ replicas: 5 }), { fieldManager: 'hpa' }));
    expect(err.status).toBe(409);
    expect(err.code).toBe('CONFLICT');
    expect(err.conflicts).toEqual([{ manager: 'kubectl', field: '.spec.replicas' }]);
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas');
    // same value: shared ownership, no conflict
    expect(() => serverSideApply(first, deployment({ replicas: 2 }), { fieldManager: 'hpa' })).not.toThrow();
    const forced = serverSideApply(first, deployment({ replicas: 5 }), { fieldManager: 'hpa', force: true });
    expect((forced['spec'] as { replicas: number }).replicas).toBe(5);
    expect(managed(forced).map((e) => e.manager)).toEqual(['hpa']);
  });

  it('ssa - custom resources merge maps and replace lists', () => {
    const cr = (spec: unknown) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec });
    const first = serverSideApply(undefined, cr({ items: [1, 2], size: 'S' }), { fieldManager: 'a' });
    const second = serverSideApply(first, cr({ items: [3] }), { fieldManager: 'a' });
    expect(second['spec']).toEqual({ items: [3] });
  });

  it('ssa - bad requests are 400', () => {
    expect(patchError(() => serverSideApply(undefined, [], { fieldManager: 'a' })).status).toBe(400);
    expect(patchError(() => serverSideApply(undefined, { kind: 'Pod' }, { fieldManager: 'a' })).status).toBe(400);
    expect(patchError(() => serverSideApply(undefined, deployment({}), { fieldManager: '' })).status).toBe(400);
    expect(patchError(() => serverSideApply(undefined, deployment({}), { fieldManager: 'a', kind: 'Pod' })).status).toBe(400);
  });

  it('ssa - ignores managedFields in the configuration and malformed live entries', () => {
    const applied = { ...deployment({ replicas: 1 }), metadata: { name: 'web', managedFields: [{ manager: 'evil' }] } };
    const live = { ...deployment({}), metadata: { name: 'web', managedFields: ['junk', { manager: 1 }] } };
    const out = serverSideApply(live, applied, { fieldManager: 'kubectl' });
    expect(managed(out).map((e) => e.manager)).toEqual(['kubectl']);
  });
});
