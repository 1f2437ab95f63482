// The relist's pure parts: one fingerprint per pod from one ListPodSandbox and one ListContainers, which
// workers sync after a relist, and which pod updates are worth a sync at all.
import { describe, expect, it } from 'vitest';
import type { ContainerSummary, PodSandboxSummary } from '@kedge/cri';
import { runtimeRelevantChange } from '../../src/pods/pod-workers';
import type { Pod } from '../../src/pods/pod-spec';
import { needsSync, runtimeFingerprints } from '../../src/pods/runtime-relist';

const sandbox = (id: string, uid: string, state: PodSandboxSummary['state'] = 'SANDBOX_READY'): PodSandboxSummary => ({
  id,
  metadata: { name: uid, uid, namespace: 'default', attempt: 0 },
  state,
  createdAt: 1n,
  labels: { 'io.kubernetes.pod.uid': uid },
  annotations: {},
  runtimeHandler: '',
});
const container = (id: string, uid: string, state: ContainerSummary['state'] = 'CONTAINER_RUNNING'): ContainerSummary => ({
  id,
  podSandboxId: `s-${uid}`,
  metadata: { name: 'app', attempt: 0 },
  image: 'busybox',
  imageRef: 'sha256:1',
  state,
  createdAt: 1n,
  labels: { 'io.kubernetes.pod.uid': uid },
  annotations: {},
});

describe('edged relist - fingerprints', () => {
  it('groups sandboxes and containers by pod uid, independent of the order the runtime lists them in', () => {
    const one = runtimeFingerprints([sandbox('s1', 'a'), sandbox('s2', 'b')], [container('c1', 'a'), container('c2', 'a'), container('c3', 'b')]);
    const two = runtimeFingerprints([sandbox('s2', 'b'), sandbox('s1', 'a')], [container('c3', 'b'), container('c2', 'a'), container('c1', 'a')]);
    expect(one).toEqual(two);
    expect([...one.keys()].sort()).toEqual(['a', 'b']);
    expect(one.get('a')).not.toEqual(one.get('b'));
  });

  it('changes when a container exits, a sandbox stops, a container is replaced or removed', () => {
    const base = runtimeFingerprints([sandbox('s1', 'a')], [container('c1', 'a')]).get('a');
    expect(runtimeFingerprints([sandbox('s1', 'a')], [container('c1', 'a', 'CONTAINER_EXITED')]).get('a')).not.toBe(base);
    expect(runtimeFingerprints([sandbox('s1', 'a', 'SANDBOX_NOTREADY')], [container('c1', 'a')]).get('a')).not.toBe(base);
    expect(runtimeFingerprints([sandbox('s1', 'a')], [container('c9', 'a')]).get('a')).not.toBe(base);
    expect(runtimeFingerprints([sandbox('s1', 'a')], []).get('a')).not.toBe(base);
    expect(runtimeFingerprints([sandbox('s1', 'a')], [container('c1', 'a')]).get('a')).toBe(base);
  });

  it('ignores what carries no pod uid label', () => {
    const stray = { ...container('c1', 'a'), labels: {} };
    expect(runtimeFingerprints([], [stray]).size).toBe(0);
  });
});

describe('edged relist - which workers sync', () => {
  const settled = { settled: true, lastSyncAt: 1_000 };
  it('syncs a settled worker only when its fingerprint changed or the resync interval passed', () => {
    expect(needsSync(settled, 'x', 'x', 2_000, 10_000)).toBe(false);
    expect(needsSync(settled, 'y', 'x', 2_000, 10_000)).toBe(true);
    expect(needsSync(settled, 'x', undefined, 2_000, 10_000)).toBe(true);
    expect(needsSync(settled, 'x', 'x', 11_000, 10_000)).toBe(true);
  });

  it('always syncs a worker that is not settled, and every worker when the runtime could not be listed', () => {
    expect(needsSync({ settled: false, lastSyncAt: 1_000 }, 'x', 'x', 1_001, 10_000)).toBe(true);
    expect(needsSync(settled, undefined, 'x', 1_001, 10_000)).toBe(true);
  });
});

describe('edged pod updates - which wake the worker', () => {
  const pod = (fields: { labels?: Record<string, string>; deletionTimestamp?: string; resourceVersion?: string; image?: string; status?: unknown } = {}): Pod =>
    ({
      metadata: { name: 'p', namespace: 'default', uid: 'u', resourceVersion: fields.resourceVersion ?? '1', ...(fields.labels ? { labels: fields.labels } : {}), ...(fields.deletionTimestamp ? { deletionTimestamp: fields.deletionTimestamp } : {}) },
      spec: { nodeName: 'n', containers: [{ name: 'app', image: fields.image ?? 'busybox' }] },
      ...(fields.status ? { status: fields.status } : {}),
    }) as Pod;

  it('a status patch echoed back by the cloud (new resourceVersion, new status) does not', () => {
    expect(runtimeRelevantChange(pod(), pod({ resourceVersion: '2', status: { phase: 'Running' } }))).toBe(false);
  });

  it('a spec change, a deletion or a label change does', () => {
    expect(runtimeRelevantChange(pod(), pod({ image: 'other' }))).toBe(true);
    expect(runtimeRelevantChange(pod(), pod({ deletionTimestamp: '2026-01-01T00:00:00Z' }))).toBe(true);
    expect(runtimeRelevantChange(pod(), pod({ labels: { a: 'b' } }))).toBe(true);
  });
});
