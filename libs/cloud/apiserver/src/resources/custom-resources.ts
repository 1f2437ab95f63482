// Serving a CustomResourceDefinition: one ResourceType per served version, validated, pruned and
// defaulted by the CRD's structural schema, printed with its additionalPrinterColumns.
import { arrayAt, cloneJson, isRecord, recordAt, type KubeObject, type StatusCause } from '@kedge/kube-core';
import { crdToDefinition, evaluatePrinterColumn } from '../crd';
import { validateObjectMeta } from '../validation';
import { customResourceTable, type PrinterColumn } from '../tables';
import { separateStatus } from './builtin-type';
import { ALL_VERBS, type ResourceType } from './resource-type';

interface SchemaValidator {
  validate(object: unknown): { field: string; type: string; message: string }[];
  prune(object: unknown): unknown;
  applyDefaults(object: unknown): unknown;
}

/** Paths present in `before` but gone from `after`: the fields pruning dropped. */
function removedPaths(before: unknown, after: unknown, path: string, out: string[]): void {
  if (Array.isArray(before)) {
    if (!Array.isArray(after)) return;
    before.forEach((item, index) => removedPaths(item, after[index], `${path}[${index}]`, out));
    return;
  }
  if (!isRecord(before) || !isRecord(after)) return;
  for (const key of Object.keys(before)) {
    const child = path === '' ? key : `${path}.${key}`;
    if (!(key in after)) out.push(child);
    else removedPaths(before[key], after[key], child, out);
  }
}

/** Runs a schema step that may either mutate its argument or return the new value. */
function applyStep(step: (object: unknown) => unknown, object: KubeObject): KubeObject {
  const result = step(object);
  return isRecord(result) ? (result as KubeObject) : object;
}

function replaceContents(target: KubeObject, source: KubeObject): void {
  if (target === source) return;
  for (const key of Object.keys(target)) delete target[key];
  Object.assign(target, source);
}

/** Structural-schema handling that keeps metadata as sent: schemas describe the rest of the object. */
function shapeBySchema(object: KubeObject, validator: SchemaValidator | undefined): void {
  if (validator === undefined) return;
  const metadata = object.metadata;
  const defaulted = applyStep((value) => validator.applyDefaults(value), object);
  const pruned = applyStep((value) => validator.prune(value), defaulted);
  pruned.metadata = metadata;
  replaceContents(object, pruned);
}

export function customResourceTypes(crd: KubeObject): ResourceType[] {
  const definition = crdToDefinition(crd);
  const crdName = crd.metadata.name ?? '';
  return definition.versions
    .filter((version) => version.served)
    .map((version): ResourceType => {
      const validator = version.validator as SchemaValidator | undefined;
      const storage = definition.versions.find((candidate) => candidate.storage) ?? version;
      const apiVersion = `${definition.group}/${version.name}`;
      const storageApiVersion = `${definition.group}/${storage.name}`;
      const hasStatus = version.statusSubresource === true;
      const schema = arrayAt(crd, ['spec', 'versions'])
        .filter(isRecord)
        .find((entry) => entry['name'] === version.name);
      const openApiSchema = recordAt(schema, ['schema', 'openAPIV3Schema']);
      return {
        group: definition.group,
        version: version.name,
        kind: definition.kind,
        listKind: definition.listKind,
        plural: definition.plural,
        singular: definition.singular,
        namespaced: definition.namespaced,
        shortNames: definition.shortNames ?? [],
        categories: definition.categories ?? [],
        verbs: ALL_VERBS,
        subresources: hasStatus ? ['status'] : [],
        storagePrefix: `/registry/${definition.group}/${definition.plural}`,
        nameRule: 'path-segment',
        acceptsStrategicMerge: false,
        allowCreateOnUpdate: false,
        allowUnconditionalUpdate: false,
        fieldSelectors: {},
        table: customResourceTable((version.printerColumns ?? []) as PrinterColumn[], (object, jsonPath) =>
          evaluatePrinterColumn(object, jsonPath),
        ),
        prepareForCreate: (object) => {
          if (hasStatus) delete object['status'];
          shapeBySchema(object, validator);
        },
        prepareForUpdate: (next, previous, context) => {
          if (hasStatus) separateStatus(next, previous, context);
          shapeBySchema(next, validator);
        },
        validate: (object): StatusCause[] => {
          const errors = [
            ...validateObjectMeta(object.metadata, { namespaced: definition.namespaced, kind: definition.kind, nameRule: 'path-segment' }),
            ...(validator?.validate(object) ?? []),
          ];
          return errors.map((error) => ({ reason: error.type, message: error.message, field: error.field }));
        },
        unknownFields: (object) => {
          if (validator === undefined) return [];
          const copy = cloneJson(object);
          const pruned = applyStep((value) => validator.prune(value), copy);
          const removed: string[] = [];
          removedPaths({ ...object, metadata: {} }, { ...pruned, metadata: {} }, '', removed);
          return removed;
        },
        deletionGracePeriod: () => 0,
        toWire: (stored) => ({ ...stored, apiVersion }),
        fromWire: (object) => ({ ...object, apiVersion: storageApiVersion }),
        definedBy: crdName,
        ...(openApiSchema === undefined ? {} : { openApiSchema }),
      };
    });
}
