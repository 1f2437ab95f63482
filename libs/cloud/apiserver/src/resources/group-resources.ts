// Built-in types outside the core group: leases, events.k8s.io/v1 (a second view of core events, as in
// Kubernetes, where both versions share one etcd prefix) and CustomResourceDefinitions.
import { arrayAt, eventTable, isRecord, recordAt, type KubeObject } from '@kedge/kube-core';
import { validateCustomResourceDefinition } from '../crd';
import { customResourceDefinitionTable, leaseTable } from '../tables';
import { defineBuiltin } from './builtin-type';
import { EVENT_FIELD_SELECTORS } from './core-resources';
import type { ResourceType } from './resource-type';

/** core/v1 field → events.k8s.io/v1 field; the rest keeps its name. */
const EVENT_FIELD_RENAMES: ReadonlyArray<readonly [core: string, events: string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
];

function renameFields(object: KubeObject, direction: 'toEvents' | 'toCore', apiVersion: string): KubeObject {
  const result: KubeObject = { ...object, apiVersion, kind: 'Event' };
  for (const [core, events] of EVENT_FIELD_RENAMES) {
    const [from, to] = direction === 'toEvents' ? [core, events] : [events, core];
    if (result[from] !== undefined) {
      result[to] = result[from];
      delete result[from];
    }
  }
  return result;
}

function storageVersionOf(crd: KubeObject): string | undefined {
  const storage = arrayAt(crd, ['spec', 'versions'])
    .filter(isRecord)
    .find((version) => version['storage'] === true);
  return typeof storage?.['name'] === 'string' ? storage['name'] : undefined;
}

export function groupResources(): ResourceType[] {
  return [
    defineBuiltin({
      group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true,
      allowCreateOnUpdate: true, table: leaseTable,
    }),
    defineBuiltin({
      group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
      storagePrefix: '/registry/core/events', allowCreateOnUpdate: true,
      table: { columns: eventTable.columns, cells: (object, now) => eventTable.cells(renameFields(object, 'toCore', 'v1'), now) },
      fieldSelectors: EVENT_FIELD_SELECTORS,
      toWire: (stored) => renameFields(stored, 'toEvents', 'events.k8s.io/v1'),
      fromWire: (object) => renameFields(object, 'toCore', 'v1'),
    }),
    {
      ...defineBuiltin({
        group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions',
        namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], subresources: ['status'],
        table: customResourceDefinitionTable,
        prepareForCreate: (crd) => {
          const spec = recordAt(crd, ['spec']);
          if (spec !== undefined) spec['conversion'] ??= { strategy: 'None' };
          const storage = storageVersionOf(crd);
          crd['status'] = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: storage === undefined ? [] : [storage] };
        },
        prepareForUpdate: (next, previous, context) => {
          const spec = recordAt(next, ['spec']);
          if (spec !== undefined) spec['conversion'] ??= recordAt(previous, ['spec', 'conversion']) ?? { strategy: 'None' };
          const storage = storageVersionOf(next);
          const status = recordAt(next, ['status']);
          if (context.subresource === '' && storage !== undefined && status !== undefined) {
            const stored = arrayAt(status, ['storedVersions']).filter((version): version is string => typeof version === 'string');
            if (!stored.includes(storage)) status['storedVersions'] = [...stored, storage];
          }
        },
        validate: (crd) =>
          validateCustomResourceDefinition(crd).map((error) => ({ reason: error.type, message: error.message, field: error.field })),
      }),
      // CRDs have their own validation; metadata rules come from validateCustomResourceDefinition
      allowUnconditionalUpdate: false,
    },
  ];
}
