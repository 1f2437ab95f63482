import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFieldError, readLabelSelector, selectorMatches, validateWorkload, type WorkloadKind } from '../../src/validation/index';
import { formatLabelSelector } from '../../src/tables/index';

const template = (labels: Record<string, string>, spec: Record<string, unknown> = {}) => ({
  metadata: { labels },
  spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

const workload = (spec: Record<string, unknown>) => ({
  metadata: { name: 'w', namespace: 'default' },
  spec: { selector: { matchLabels: { app: 'w' } }, template: template({ app: 'w' }), ...spec },
});

const messages = (kind: WorkloadKind, object: unknown, previous?: unknown) => validateWorkload(kind, object, previous).map(formatFieldError);

describe('validation - apps/v1 workloads', () => {
  it('workloads - a defaulted minimal object of each kind is valid', () => {
    expect(messages('Deployment', workload({ replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } } }))).toEqual([]);
    expect(messages('ReplicaSet', workload({ replicas: 0 }))).toEqual([]);
    expect(messages('DaemonSet', workload({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } }))).toEqual([]);
    expect(messages('StatefulSet', workload({ podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'OnDelete' } }))).toEqual([]);
  });

  it('workloads - selectors must be present, non-empty and select the template', () => {
    expect(messages('Deployment', workload({ selector: {} }))).toEqual(['spec.selector: Invalid value: {}: empty selector is invalid for deployment']);
    expect(messages('DaemonSet', workload({ selector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['w'] }] } }))).toEqual([
      'spec.template.metadata.labels: Invalid value: {"app":"w"}: `selector` does not match template `labels`',
    ]);
    expect(messages('ReplicaSet', workload({ selector: { matchExpressions: [{ key: 'app', operator: 'In' }, { key: 'tier', operator: 'Near', values: [] }] } }))).toEqual([
      "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      'spec.selector.matchExpressions[1].operator: Invalid value: "Near": not a valid selector operator',
    ]);
  });

  it('workloads - strategies follow upstream rules', () => {
    const rolling = (maxUnavailable: unknown, maxSurge: unknown) => workload({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable, maxSurge } } });
    expect(messages('Deployment', rolling(0, '0%'))).toEqual(['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0']);
    expect(messages('Deployment', rolling('120%', 1))).toEqual(['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater than 100%']);
    expect(messages('Deployment', workload({ strategy: { type: 'Recreate', rollingUpdate: {} } }))).toEqual([
      "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ]);
    expect(messages('Deployment', workload({ progressDeadlineSeconds: 10, minReadySeconds: 10 }))).toEqual([
      'spec.progressDeadlineSeconds: Invalid value: 10: must be greater than minReadySeconds',
    ]);
    expect(messages('StatefulSet', workload({ podManagementPolicy: 'Eager', serviceName: 'Not_Valid', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: -1 } } }))).toEqual([
      'spec.podManagementPolicy: Unsupported value: "Eager": supported values: "OrderedReady", "Parallel"',
      'spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0',
      expect.stringMatching(/^spec\.serviceName: Invalid value: "Not_Valid": a DNS-1035 label must consist of/),
    ]);
  });

  it('workloads - the template is a pod template that restarts Always and has no deadline', () => {
    expect(messages('StatefulSet', workload({ podManagementPolicy: 'Parallel', template: template({ app: 'w' }, { restartPolicy: 'OnFailure', activeDeadlineSeconds: 5 }) }))).toEqual([
      'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"',
      'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported',
    ]);
    expect(messages('Deployment', workload({ template: undefined }))).toEqual(['spec.template: Required value']);
  });

  it('workloads - updates keep the selector; StatefulSets change only their mutable fields', () => {
    const before = workload({});
    expect(messages('Deployment', workload({ selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } }), before)).toEqual([
      'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Exists"}]}: field is immutable',
    ]);
    expect(messages('Deployment', workload({ replicas: 7 }), before)).toEqual([]);
    const set = workload({ podManagementPolicy: 'OrderedReady', serviceName: 'db' });
    expect(messages('StatefulSet', { ...set, spec: { ...set.spec, replicas: 3, template: template({ app: 'w' }, { hostname: 'h' }) } }, set)).toEqual([]);
    expect(messages('StatefulSet', { ...set, spec: { ...set.spec, serviceName: 'other' } }, set)).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });

  it('workloads - selector matching agrees with the printed selector, and random bodies never throw', () => {
    const errs: never[] = [];
    const selector = readLabelSelector({ matchLabels: { app: 'w' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }, { key: 'legacy', operator: 'DoesNotExist' }] }, 'spec.selector', errs);
    expect(selector).toBeDefined();
    expect(selectorMatches(selector!, new Map([['app', 'w'], ['tier', 'a']]))).toBe(true);
    expect(selectorMatches(selector!, new Map([['app', 'w'], ['tier', 'a'], ['legacy', '']]))).toBe(false);
    expect(formatLabelSelector({ matchLabels: { app: 'w' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }, { key: 'legacy', operator: 'DoesNotExist' }] })).toBe(
      'app=w,!legacy,tier in (a,b)',
    );
    fc.assert(
      fc.property(fc.constantFrom<WorkloadKind>('Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet'), fc.anything(), fc.anything(), (kind, body, previous) => {
        expect(Array.isArray(validateWorkload(kind, body, previous))).toBe(true);
        expect(Array.isArray(validateWorkload(kind, { metadata: { name: 'x', namespace: 'y' }, spec: body }, { spec: previous }))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
