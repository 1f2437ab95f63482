import { describe, expect, it } from 'vitest';
import { PatchError, applyStrategicMergePatch, supportsStrategicMerge } from '../../src/patch/index';

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a.example.com/f'] },
  spec: {
    containers: [
      { name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], ports: [{ containerPort: 80 }], volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      { name: 'sidecar', image: 'side:1' },
    ],
    volumes: [{ name: 'data', emptyDir: {} }],
    tolerations: [{ key: 'a', operator: 'Exists' }],
  },
});
type Pod = ReturnType<typeof pod>;
const smp = (patch: unknown, obj: unknown = pod()) => applyStrategicMergePatch(obj, patch, { kind: 'Pod' }) as unknown as Pod;

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError');
}

describe('patch - strategic merge patch', () => {
  it('smp - patching a container image by name keeps the other containers', () => {
    const out = smp({ spec: { containers: [{ name: 'sidecar', image: 'side:2' }] } });
    expect(out.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['app=app:1', 'sidecar=side:2']);
    expect(out.spec.containers[0]?.env).toHaveLength(2);
  });

  it('smp - new list items are appended; kind defaults to obj.kind', () => {
    const out = applyStrategicMergePatch(pod(), { spec: { containers: [{ name: 'new', image: 'n' }] } }) as unknown as Pod;
    expect(out.spec.containers.map((c) => c.name)).toEqual(['app', 'sidecar', 'new']);
  });

  it('smp - $patch: delete removes an env entry', () => {
    const out = smp({ spec: { containers: [{ name: 'app', env: [{ name: 'A', $patch: 'delete' }] }] } });
    expect(out.spec.containers[0]?.env).toEqual([{ name: 'B', value: '2' }]);
    expect(out.spec.containers[0]?.image).toBe('app:1');
  });

  it('smp - merge keys of nested lists: ports by containerPort, volumeMounts by mountPath', () => {
    const out = smp({ spec: { containers: [{ name: 'app', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 9090 }], volumeMounts: [{ mountPath: '/data', readOnly: true }] }] } });
    expect(out.spec.containers[0]?.ports).toEqual([{ containerPort: 80, name: 'http' }, { containerPort: 9090 }]);
    expect(out.spec.containers[0]?.volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]);
  });

  it('smp - lists without a merge key are replaced (tolerations)', () => {
    const out = smp({ spec: { tolerations: [{ key: 'b', operator: 'Exists' }] } });
    expect(out.spec.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]);
  });

  it('smp - null deletes a label; maps merge', () => {
    const out = smp({ metadata: { labels: { app: null, tier: 'fe' } } });
    expect(out.metadata.labels).toEqual({ tier: 'fe' });
  });

  it('smp - $patch: replace on a list item replaces the list, on a map replaces the map', () => {
    expect(smp({ spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o' }] } }).spec.containers).toEqual([{ name: 'only', image: 'o' }]);
    const out = smp({ metadata: { labels: { $patch: 'replace', fresh: 'yes' } } });
    expect(out.metadata.labels).toEqual({ fresh: 'yes' });
  });

  it('smp - $patch: delete on a map removes it', () => {
    const out = smp({ metadata: { labels: { $patch: 'delete' } } });
    expect(out.metadata).not.toHaveProperty('labels');
    expect(applyStrategicMergePatch(pod(), { $patch: 'delete' })).toEqual({});
  });

  it('smp - finalizers merge as a set; $deleteFromPrimitiveList removes', () => {
    expect(smp({ metadata: { finalizers: ['b.example.com/f', 'a.example.com/f'] } }).metadata.finalizers).toEqual(['b.example.com/f', 'a.example.com/f']);
    expect(smp({ metadata: { finalizers: ['b.example.com/f'] } }).metadata.finalizers).toEqual(['a.example.com/f', 'b.example.com/f']);
    expect(smp({ metadata: { '$deleteFromPrimitiveList/finalizers': ['a.example.com/f'] } }).metadata.finalizers).toEqual([]);
  });

  it('smp - $setElementOrder orders the merged list', () => {
    const out = smp({
      spec: {
        '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'new' }, { name: 'app' }],
        containers: [{ name: 'new', image: 'n' }],
      },
    });
    expect(out.spec.containers.map((c) => c.name)).toEqual(['sidecar', 'new', 'app']);
    // kubectl apply sends the order alone when only the order changed
    expect(smp({ spec: { '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }] } }).spec.containers.map((c) => c.name)).toEqual([
      'sidecar',
      'app',
    ]);
    expect(patchError(() => smp({ spec: { '$setElementOrder/containers': [{ name: 'app' }], containers: [{ name: 'x', image: 'x' }] } })).status).toBe(400);
  });

  it('smp - $retainKeys clears unlisted fields (e.g. Deployment strategy)', () => {
    const deploy = { kind: 'Deployment', spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
    const out = applyStrategicMergePatch(deploy, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
    expect(out).toEqual({ kind: 'Deployment', spec: { strategy: { type: 'Recreate' } } });
    expect(patchError(() => applyStrategicMergePatch(deploy, { spec: { strategy: { $retainKeys: ['type'], other: 1 } } })).status).toBe(422);
    expect(patchError(() => applyStrategicMergePatch(deploy, { spec: { strategy: { $retainKeys: 'type' } } })).status).toBe(400);
  });

  it('smp - deployments merge containers inside the pod template', () => {
    const deploy = { kind: 'Deployment', spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'a:1' }, { name: 'b', image: 'b:1' }] } } } };
    const out = applyStrategicMergePatch(deploy, { spec: { template: { spec: { containers: [{ name: 'a', image: 'a:2' }] } } } });
    expect(out).toEqual({ kind: 'Deployment', spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', image: 'a:2' }, { name: 'b', image: 'b:1' }] } } } });
  });

  it('smp - service ports merge by port, node conditions by type', () => {
    const svc = { kind: 'Service', spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    expect(applyStrategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } })['spec']).toEqual({ ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] });
    const node = { kind: 'Node', status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'MemoryPressure', status: 'False' }] } };
    expect(applyStrategicMergePatch(node, { status: { conditions: [{ type: 'Ready', status: 'True' }] } })['status']).toEqual({
      conditions: [{ type: 'Ready', status: 'True' }, { type: 'MemoryPressure', status: 'False' }],
    });
  });

  it('smp - bad directives and missing merge keys are PatchErrors', () => {
    expect(patchError(() => smp({ spec: { containers: [{ image: 'x' }] } })).status).toBe(422);
    expect(patchError(() => smp({ spec: { containers: ['x'] } })).status).toBe(422);
    expect(patchError(() => smp({ spec: { $patch: 'explode' } })).status).toBe(400);
    expect(patchError(() => smp({ spec: { containers: [{ $patch: 'delete' }] } })).status).toBe(400);
    expect(patchError(() => smp({ metadata: { '$deleteFromPrimitiveList/finalizers': 'x' } })).status).toBe(400);
    expect(patchError(() => smp([])).status).toBe(400);
  });

  it('smp - unknown kinds merge like JSON merge patch; input is not mutated', () => {
    const cr = { kind: 'Widget', spec: { items: [{ name: 'a' }, { name: 'b' }] } };
    expect(applyStrategicMergePatch(cr, { spec: { items: [{ name: 'c' }] } })).toEqual({ kind: 'Widget', spec: { items: [{ name: 'c' }] } });
    expect(cr.spec.items).toHaveLength(2);
    expect(supportsStrategicMerge('Pod')).toBe(true);
    expect(supportsStrategicMerge('Widget')).toBe(false);
  });
});
