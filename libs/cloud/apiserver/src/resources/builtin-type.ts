// Shared defaults for the built-in types: one place says how status is kept apart from the rest,
// how built-in validation is called, and which names a kind uses.
import { cloneJson, type KubeObject, type StatusCause, type TableConverter } from '@kedge/kube-core';
import { BUILTIN_KIND_SCOPES, validateBuiltin, validateObjectMeta } from '../validation';
import { ALL_VERBS, type NameRule, type ResourceType, type SubresourceName, type UpdateContext, type Verb } from './resource-type';

export interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: readonly string[];
  categories?: readonly string[];
  verbs?: readonly Verb[];
  subresources?: readonly SubresourceName[];
  storagePrefix?: string;
  nameRule?: NameRule;
  allowCreateOnUpdate?: boolean;
  fieldSelectors?: ResourceType['fieldSelectors'];
  table: TableConverter;
  prepareForCreate?: (object: KubeObject) => void;
  /** runs after the generic status handling */
  prepareForUpdate?: (next: KubeObject, previous: KubeObject, context: UpdateContext) => void;
  deletionGracePeriod?: ResourceType['deletionGracePeriod'];
  toWire?: ResourceType['toWire'];
  fromWire?: ResourceType['fromWire'];
  /** replaces the default validation (metadata and validateBuiltin) */
  validate?: (object: KubeObject, previous: KubeObject | undefined) => StatusCause[];
}

/** Keeps `.status` out of main-resource writes and everything but `.status` out of /status writes. */
export function separateStatus(next: KubeObject, previous: KubeObject, context: UpdateContext): void {
  // a binding's handler changes exactly spec.nodeName and one status condition, both at once
  if (context.subresource === 'binding') return;
  if (context.subresource === 'status') {
    const status = next['status'];
    const metadata = next.metadata;
    for (const key of Object.keys(next)) delete next[key];
    Object.assign(next, cloneJson(previous));
    next.metadata = { ...next.metadata, resourceVersion: metadata.resourceVersion, managedFields: metadata.managedFields };
    if (status === undefined) delete next['status'];
    else next['status'] = status;
    return;
  }
  if (previous['status'] === undefined) delete next['status'];
  else next['status'] = cloneJson(previous['status']);
}

export function builtinCauses(kind: string, namespaced: boolean, nameRule: NameRule, object: KubeObject): StatusCause[] {
  // validateBuiltin checks metadata itself for the kinds it knows
  const errors =
    kind in BUILTIN_KIND_SCOPES ? validateBuiltin(kind, object) : validateObjectMeta(object.metadata, { namespaced, kind, nameRule });
  return errors.map((error) => ({ reason: error.type, message: error.message, field: error.field }));
}

export function defineBuiltin(spec: BuiltinSpec): ResourceType {
  const subresources = spec.subresources ?? [];
  const hasStatus = subresources.includes('status');
  const nameRule = spec.nameRule ?? 'subdomain';
  return {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    namespaced: spec.namespaced,
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    verbs: spec.verbs ?? ALL_VERBS,
    subresources,
    storagePrefix: spec.storagePrefix ?? `/registry/${spec.group === '' ? 'core' : spec.group}/${spec.plural}`,
    nameRule,
    acceptsStrategicMerge: true,
    allowCreateOnUpdate: spec.allowCreateOnUpdate ?? false,
    allowUnconditionalUpdate: true,
    fieldSelectors: spec.fieldSelectors ?? {},
    table: spec.table,
    prepareForCreate: (object) => {
      if (hasStatus && spec.kind !== 'Node') delete object['status'];
      spec.prepareForCreate?.(object);
    },
    prepareForUpdate: (next, previous, context) => {
      if (hasStatus) separateStatus(next, previous, context);
      spec.prepareForUpdate?.(next, previous, context);
    },
    validate: (object, previous) =>
      spec.validate !== undefined ? spec.validate(object, previous) : builtinCauses(spec.kind, spec.namespaced, nameRule, object),
    unknownFields: () => [],
    deletionGracePeriod: spec.deletionGracePeriod ?? (() => 0),
    toWire: spec.toWire ?? ((stored) => stored),
    fromWire: spec.fromWire ?? ((object) => object),
    storedAsServed: spec.toWire === undefined && spec.fromWire === undefined,
  };
}
