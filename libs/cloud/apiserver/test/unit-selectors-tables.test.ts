// Pure parts: selector parsing and matching, request paths, ages, version order, pod STATUS cells.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { humanDuration, matchesFields, matchesLabels, nodeTable, parseFieldSelector, parseLabelSelector, podTable, SelectorParseError, StatusError } from '@kedge/kube-core';
import { parseRequestPath } from '../src/routing';
import { compareVersions } from '../src/resources';

describe('label selectors', () => {
  it('parses every operator and matches like apimachinery', () => {
    const labels = { env: 'prod', tier: 'web', replicas: '3' };
    const matches = (text: string) => matchesLabels(parseLabelSelector(text), labels);
    expect(matches('env=prod')).toBe(true);
    expect(matches('env==prod,tier=web')).toBe(true);
    expect(matches('env!=prod')).toBe(false);
    expect(matches('missing!=x')).toBe(true);
    expect(matches('tier in (web, db)')).toBe(true);
    expect(matches('tier notin (web)')).toBe(false);
    expect(matches('env')).toBe(true);
    expect(matches('!env')).toBe(false);
    expect(matches('!missing')).toBe(true);
    expect(matches('replicas>2')).toBe(true);
    expect(matches('replicas<2')).toBe(false);
    expect(matches('example.com/role in (a,b)')).toBe(false);
    expect(parseLabelSelector('')).toEqual([]);
  });

  it('refuses malformed selectors', () => {
    for (const text of ['env in (a', 'env in ()', 'a b', 'Bad_/x=y', 'env=in valid', 'x>y', '=x']) {
      expect(() => parseLabelSelector(text), text).toThrow(SelectorParseError);
    }
  });

  it('never throws anything but SelectorParseError on random input', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseLabelSelector(text);
        } catch (error) {
          expect(error).toBeInstanceOf(SelectorParseError);
        }
      }),
    );
  });
});

describe('field selectors', () => {
  it('parses =, ==, != and escapes', () => {
    expect(parseFieldSelector('metadata.name=a\\,b,status.phase!=Running')).toEqual([
      { field: 'metadata.name', operator: 'equals', value: 'a,b' },
      { field: 'status.phase', operator: 'notEquals', value: 'Running' },
    ]);
    const values: Record<string, string> = { 'metadata.name': 'a,b', 'status.phase': 'Pending' };
    expect(matchesFields(parseFieldSelector('metadata.name=a\\,b,status.phase!=Running'), (field) => values[field] ?? '')).toBe(true);
    expect(() => parseFieldSelector('nonsense')).toThrow(SelectorParseError);
  });
});

describe('request paths', () => {
  it('resolves resource paths like the RequestInfoFactory', () => {
    expect(parseRequestPath('/api/v1/namespaces/default/pods/web/log')).toMatchObject({ kind: 'resource', group: '', version: 'v1', namespace: 'default', resource: 'pods', name: 'web', subresource: 'log' });
    expect(parseRequestPath('/api/v1/namespaces/demo')).toMatchObject({ resource: 'namespaces', name: 'demo', namespace: undefined });
    expect(parseRequestPath('/api/v1/namespaces/demo/finalize')).toMatchObject({ resource: 'namespaces', name: 'demo', subresource: 'finalize' });
    expect(parseRequestPath('/apis/example.com/v1/watch/namespaces/a/widgets')).toMatchObject({ group: 'example.com', resource: 'widgets', namespace: 'a', watchPath: true });
    expect(parseRequestPath('/apis/example.com')).toEqual({ kind: 'group', group: 'example.com' });
    expect(parseRequestPath('/openapi/v3/apis/example.com/v1')).toEqual({ kind: 'openapiV3', group: 'example.com', version: 'v1' });
    expect(() => parseRequestPath('/api/v1/namespaces/a/pods/b/c/d')).toThrow(StatusError);
    expect(() => parseRequestPath('/api/v1/pods/%zz')).toThrow(StatusError);
  });
});

describe('ages and versions', () => {
  it('renders ages like duration.HumanDuration', () => {
    const seconds = (value: number) => humanDuration(value * 1000);
    expect(seconds(5)).toBe('5s');
    expect(seconds(119)).toBe('119s');
    expect(seconds(125)).toBe('2m5s');
    expect(seconds(600)).toBe('10m');
    expect(seconds(3 * 3600 + 120)).toBe('3h2m');
    expect(seconds(30 * 3600)).toBe('30h');
    expect(seconds(3 * 86400 + 3600)).toBe('3d1h');
    expect(seconds(400 * 86400)).toBe('400d');
    expect(seconds(3 * 365 * 86400)).toBe('3y');
  });

  it('orders versions as Kubernetes prefers them', () => {
    expect(['v1alpha1', 'v1beta1', 'foo', 'v2', 'v1', 'v1beta2', 'v10beta1'].sort(compareVersions)).toEqual([
      'v2', 'v1', 'v10beta1', 'v1beta2', 'v1beta1', 'v1alpha1', 'foo',
    ]);
  });
});

describe('tables', () => {
  const now = new Date('2025-01-01T00:10:00Z');
  const pod = (status: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    metadata: { name: 'p', creationTimestamp: '2025-01-01T00:00:00Z', ...extra },
    spec: { containers: [{ name: 'a' }, { name: 'b' }] },
    status,
  });

  it('computes pod READY, STATUS and RESTARTS like kubectl', () => {
    expect(podTable.cells(pod({ phase: 'Pending' }), now).slice(0, 5)).toEqual(['p', '0/2', 'Pending', '0', '10m']);
    const running = { phase: 'Running', containerStatuses: [{ ready: true, restartCount: 2, state: { running: {} } }, { ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { finishedAt: '2025-01-01T00:09:00Z' } } }] };
    expect(podTable.cells(pod(running), now).slice(1, 4)).toEqual(['1/2', 'CrashLoopBackOff', '2 (60s ago)']);
    expect(podTable.cells(pod({ phase: 'Running' }, { deletionTimestamp: '2025-01-01T00:10:30Z' }), now)[2]).toBe('Terminating');
    const init = { phase: 'Pending', initContainerStatuses: [{ state: { waiting: { reason: 'PodInitializing' } } }] };
    expect(podTable.cells({ ...pod(init), spec: { initContainers: [{ name: 'i' }], containers: [{ name: 'a' }] } }, now)[2]).toBe('Init:0/1');
  });

  it('computes node STATUS and ROLES', () => {
    const node = {
      metadata: { name: 'edge-1', creationTimestamp: '2025-01-01T00:00:00Z', labels: { 'node-role.kubernetes.io/edge': '', 'node-role.kubernetes.io/agent': '' } },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0-kedge' } },
    };
    expect(nodeTable.cells(node, now).slice(0, 5)).toEqual(['edge-1', 'Ready,SchedulingDisabled', 'agent,edge', '10m', 'v1.32.0-kedge']);
  });
});
