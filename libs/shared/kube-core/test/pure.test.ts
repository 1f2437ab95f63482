// Pure parts: selector parsing and matching (string and metav1.LabelSelector forms), ages, Status
// errors, and the pod and node STATUS cells kubectl users read first.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SelectorParseError,
  humanDuration,
  labelSelectorRequirements,
  matchesFields,
  matchesLabels,
  nodeTable,
  notFound,
  parseFieldSelector,
  parseLabelSelector,
  podTable,
  selectedEventType,
  tooOldResourceVersion,
} from '../src/index';

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

  it('accepts the upstream grammar', () => {
    for (const text of ['', 'app=web', 'app==web,tier!=db', 'env in (prod, qa)', 'env notin (dev)', '!legacy', 'legacy', 'a=', 'n>3']) {
      expect(() => parseLabelSelector(text), text).not.toThrow();
    }
  });

  it('refuses malformed selectors', () => {
    for (const text of ['env in (a', 'env in ()', 'a b', 'Bad_/x=y', 'env=in valid', 'x>y', '=x', 'app=web,', 'env in prod', 'n>x', 'bad key!=1 2', 'app=-bad']) {
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


describe('label selector objects', () => {
  it('label selector objects - matchLabels and matchExpressions compile to the same requirements as the string form', () => {
    const requirements = labelSelectorRequirements({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'legacy', operator: 'DoesNotExist' }] });
    expect(requirements).toEqual(parseLabelSelector('app=web,tier in (a,b),!legacy'));
    expect(matchesLabels(requirements, { app: 'web', tier: 'a' })).toBe(true);
    expect(matchesLabels(requirements, { app: 'web', tier: 'a', legacy: '' })).toBe(false);
    expect(labelSelectorRequirements({})).toEqual([]);
  });

  it('label selector objects - a bad requirement is a SelectorParseError naming its field', () => {
    const fieldOf = (selector: Parameters<typeof labelSelectorRequirements>[0]): string | undefined => {
      try {
        labelSelectorRequirements(selector, 'spec.selector');
        return undefined;
      } catch (error) {
        return error instanceof SelectorParseError ? error.field : 'not a SelectorParseError';
      }
    };
    expect(fieldOf({ matchExpressions: [{ key: 'a', operator: 'Maybe' }] })).toBe('spec.selector.matchExpressions[0].operator');
    expect(fieldOf({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] })).toBe('spec.selector.matchExpressions[0].values');
    expect(fieldOf({ matchExpressions: [{ operator: 'Exists' }] })).toBe('spec.selector.matchExpressions[0].key');
  });
});

describe('ages', () => {
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
});

describe('status errors', () => {
  it('status errors - NotFound names the object and 410 words a too old resourceVersion as kube-apiserver', () => {
    expect(notFound({ group: 'apps', resource: 'deployments' }, 'web').toStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "web" not found',
      reason: 'NotFound',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
      code: 404,
    });
    expect(tooOldResourceVersion('7', 12).toStatus()).toMatchObject({ code: 410, reason: 'Expired', message: 'too old resource version: 7 (12)' });
  });
});

describe('watch events', () => {
  it('watch events - a selected watcher sees leaving as DELETED, entering as ADDED, and never what never matched', () => {
    expect(selectedEventType('MODIFIED', true, true)).toBe('MODIFIED');
    expect(selectedEventType('MODIFIED', true, false)).toBe('DELETED');
    expect(selectedEventType('MODIFIED', false, true)).toBe('ADDED');
    expect(selectedEventType('MODIFIED', false, false)).toBeUndefined();
    expect(selectedEventType('ADDED', false, false)).toBeUndefined();
    expect(selectedEventType('DELETED', true, false)).toBe('DELETED');
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
