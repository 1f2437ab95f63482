import { describe, expect, it } from 'vitest';
import { crdStatusConditions, crdToDefinition, evaluatePrinterColumn, parseJsonPath } from '../../src/crd/index';
import { crontabCrd } from './fixtures';

describe('crd - descriptor and status', () => {
  it('descriptor - names, scope and versions', () => {
    const d = crdToDefinition(crontabCrd());
    expect(d).toMatchObject({
      name: 'crontabs.stable.example.com',
      group: 'stable.example.com',
      kind: 'CronTab',
      listKind: 'CronTabList',
      plural: 'crontabs',
      singular: 'crontab',
      shortNames: ['ct'],
      categories: ['all'],
      namespaced: true,
      storageVersion: 'v1',
    });
    const [v1, beta] = d.versions;
    expect(v1).toMatchObject({ name: 'v1', served: true, storage: true, statusSubresource: true, deprecated: false });
    expect(v1?.scaleSubresource).toEqual({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.labelSelector' });
    expect(v1?.printerColumns.map((c) => c.name)).toEqual(['Spec', 'Replicas', 'Age']);
    expect(v1?.printerColumns[0]).toEqual({ name: 'Spec', type: 'string', description: 'The cron spec', priority: 0, jsonPath: '.spec.cronSpec' });
    expect(beta).toMatchObject({ name: 'v1beta1', storage: false, statusSubresource: false, deprecated: true, deprecationWarning: 'use v1', printerColumns: [] });
  });

  it('descriptor - the version validator validates, prunes and defaults', () => {
    const v = crdToDefinition(crontabCrd()).versions[0]?.validator;
    const obj = { apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name: 'a' }, spec: { cronSpec: '* * * * *', junk: 1 } };
    expect(v?.validate(obj)).toEqual([]);
    expect(v?.applyDefaults(v.prune(obj))).toEqual({ ...obj, spec: { cronSpec: '* * * * *', replicas: 1 } });
    expect(v?.validate({ spec: { replicas: 'x' } })[0]?.field).toBe('spec.replicas');
  });

  it('descriptor - defaults singular and listKind; never throws on garbage', () => {
    const d = crdToDefinition({ spec: { group: 'g.io', scope: 'Cluster', names: { plural: 'foos', kind: 'Foo' }, versions: [{ name: 'v1' }, 'x'] } });
    expect(d).toMatchObject({ singular: 'foo', listKind: 'FooList', namespaced: false, storageVersion: '' });
    expect(d.versions[0]?.validator).toBeUndefined();
    expect(crdToDefinition('garbage')).toMatchObject({ group: '', versions: [] });
  });

  it('status - Established and NamesAccepted so kubectl wait --for condition=established works', () => {
    const status = crdStatusConditions(crontabCrd(), { now: '2024-01-01T00:00:00Z' });
    expect(status.conditions).toEqual([
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: '2024-01-01T00:00:00Z' },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: '2024-01-01T00:00:00Z' },
    ]);
    expect(status.acceptedNames).toEqual({ plural: 'crontabs', singular: 'crontab', kind: 'CronTab', listKind: 'CronTabList', shortNames: ['ct'], categories: ['all'] });
    expect(status.storedVersions).toEqual(['v1']);
  });

  it('status - keeps transition times and stored versions across updates', () => {
    const first = crdStatusConditions(crontabCrd(), { now: 'T1' });
    const crd = { ...crontabCrd(), status: { ...first, storedVersions: ['v1beta1'] } };
    const again = crdStatusConditions(crd, { now: 'T2' });
    expect(again.conditions.map((c) => c.lastTransitionTime)).toEqual(['T1', 'T1']);
    expect(again.storedVersions).toEqual(['v1beta1', 'v1']);
    const conflict = crdStatusConditions(crd, { now: 'T3', namesConflict: { reason: 'PluralConflict', message: '"crontabs" is already in use' } });
    expect(conflict.conditions.map((c) => `${c.type}=${c.status}@${c.lastTransitionTime}`)).toEqual(['NamesAccepted=False@T3', 'Established=False@T3']);
  });
});

describe('crd - printer column JSONPath', () => {
  const obj = {
    metadata: { name: 'a', creationTimestamp: '2024-01-01T00:00:00Z', labels: { 'app.kubernetes.io/name': 'web' } },
    spec: { replicas: 3, items: [{ n: 1 }, { n: 2 }] },
    status: { conditions: [{ type: 'Available', status: 'False' }, { type: 'Ready', status: 'True' }] },
  };

  it('jsonpath - the forms printer columns use', () => {
    expect(evaluatePrinterColumn(obj, '.spec.replicas')).toBe(3);
    expect(evaluatePrinterColumn(obj, '.metadata.creationTimestamp')).toBe('2024-01-01T00:00:00Z');
    expect(evaluatePrinterColumn(obj, '.status.conditions[?(@.type=="Ready")].status')).toBe('True');
    expect(evaluatePrinterColumn(obj, ".status.conditions[?(@.type=='Available')].status")).toBe('False');
    expect(evaluatePrinterColumn(obj, '.status.conditions[?(@.type!="Available")].type')).toBe('Ready');
    expect(evaluatePrinterColumn(obj, '.spec.items[1].n')).toBe(2);
    expect(evaluatePrinterColumn(obj, '.spec.items[-1].n')).toBe(2);
    expect(evaluatePrinterColumn(obj, '.spec.items[*].n')).toBe(1);
    expect(evaluatePrinterColumn(obj, ".metadata.labels['app.kubernetes.io/name']")).toBe('web');
    expect(evaluatePrinterColumn(obj, '.metadata.labels.app\\.kubernetes\\.io/name')).toBe('web');
    expect(evaluatePrinterColumn(obj, '{.spec.replicas}')).toBe(3);
    expect(evaluatePrinterColumn(obj, '$.spec.replicas')).toBe(3);
    expect(evaluatePrinterColumn(obj, '.spec.items[?(@.n>1)].n')).toBe(2);
  });

  it('jsonpath - missing values and bad paths give undefined', () => {
    expect(evaluatePrinterColumn(obj, '.spec.missing')).toBeUndefined();
    expect(evaluatePrinterColumn(obj, '.status.conditions[?(@.type=="Gone")].status')).toBeUndefined();
    expect(evaluatePrinterColumn(obj, '.spec.constructor')).toBeUndefined();
    for (const bad of ['', 'spec', '.spec[', '..spec', '.spec[?(x)]', '.a[foo]']) {
      expect(parseJsonPath(bad).ok, bad).toBe(false);
      expect(evaluatePrinterColumn(obj, bad)).toBeUndefined();
    }
  });
});
