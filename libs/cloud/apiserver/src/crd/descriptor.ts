// What the API layer needs to serve a CRD (crdToDefinition) and the status the CRD controller
// writes so `kubectl wait --for condition=established` returns (crdStatusConditions).
import type { StructuralValidator } from '../schema/index';
import { compileStructuralSchema } from '../schema/index';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: unknown, k: string): unknown => (isObj(o) && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority: number;
  jsonPath: string;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface CustomResourceVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated: boolean;
  deprecationWarning?: string;
  /** undefined when the version has no schema (only possible for CRDs that failed validation) */
  validator?: StructuralValidator;
  statusSubresource: boolean;
  scaleSubresource?: ScaleSubresource;
  /** the CRD's additionalPrinterColumns (the Name column and any Age column are the table's business) */
  printerColumns: PrinterColumn[];
}

export interface CustomResourceDescriptor {
  /** metadata.name of the CRD (`<plural>.<group>`) */
  name: string;
  group: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  versions: CustomResourceVersion[];
  /** name of the storage version ('' if none) */
  storageVersion: string;
}

export interface AcceptedNames {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames?: string[];
  categories?: string[];
}

/** Names with upstream's defaults: singular = lowercase kind, listKind = kind + "List". */
export function acceptedNamesOf(crd: unknown): AcceptedNames {
  const names = own(own(crd, 'spec'), 'names');
  const kind = str(own(names, 'kind'));
  const out: AcceptedNames = {
    plural: str(own(names, 'plural')),
    singular: str(own(names, 'singular')) || kind.toLowerCase(),
    kind,
    listKind: str(own(names, 'listKind')) || (kind ? `${kind}List` : ''),
  };
  const shortNames = strings(own(names, 'shortNames'));
  const categories = strings(own(names, 'categories'));
  if (shortNames.length) out.shortNames = shortNames;
  if (categories.length) out.categories = categories;
  return out;
}

function printerColumns(raw: unknown): PrinterColumn[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isObj).map((c) => {
    const col: PrinterColumn = {
      name: str(own(c, 'name')),
      type: str(own(c, 'type'), 'string'),
      priority: typeof own(c, 'priority') === 'number' ? (own(c, 'priority') as number) : 0,
      jsonPath: str(own(c, 'jsonPath')),
    };
    if (typeof own(c, 'format') === 'string') col.format = own(c, 'format') as string;
    if (typeof own(c, 'description') === 'string') col.description = own(c, 'description') as string;
    return col;
  });
}

function versionOf(v: Obj): CustomResourceVersion {
  const schema = own(own(v, 'schema'), 'openAPIV3Schema');
  const sub = own(v, 'subresources');
  const scale = own(sub, 'scale');
  const version: CustomResourceVersion = {
    name: str(own(v, 'name')),
    served: own(v, 'served') === true,
    storage: own(v, 'storage') === true,
    deprecated: own(v, 'deprecated') === true,
    statusSubresource: isObj(own(sub, 'status')),
    printerColumns: printerColumns(own(v, 'additionalPrinterColumns')),
  };
  if (typeof own(v, 'deprecationWarning') === 'string') version.deprecationWarning = own(v, 'deprecationWarning') as string;
  if (isObj(schema)) version.validator = compileStructuralSchema(schema);
  if (isObj(scale)) {
    version.scaleSubresource = { specReplicasPath: str(own(scale, 'specReplicasPath')), statusReplicasPath: str(own(scale, 'statusReplicasPath')) };
    if (typeof own(scale, 'labelSelectorPath') === 'string') version.scaleSubresource.labelSelectorPath = own(scale, 'labelSelectorPath') as string;
  }
  return version;
}

/**
 * The serving description of a CRD. Meant for CRDs that passed validateCustomResourceDefinition;
 * for anything else it never throws but fills gaps with empty values.
 */
export function crdToDefinition(crd: unknown): CustomResourceDescriptor {
  const spec = own(crd, 'spec');
  const names = acceptedNamesOf(crd);
  const versions = (Array.isArray(own(spec, 'versions')) ? (own(spec, 'versions') as unknown[]) : []).filter(isObj).map(versionOf);
  return {
    name: str(own(own(crd, 'metadata'), 'name')),
    group: str(own(spec, 'group')),
    kind: names.kind,
    listKind: names.listKind,
    plural: names.plural,
    singular: names.singular,
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    namespaced: own(spec, 'scope') !== 'Cluster',
    versions,
    storageVersion: versions.find((v) => v.storage)?.name ?? '',
  };
}

export interface CrdCondition {
  type: 'NamesAccepted' | 'Established';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

export interface CrdStatus {
  conditions: CrdCondition[];
  acceptedNames: AcceptedNames;
  storedVersions: string[];
}

export interface CrdStatusOptions {
  /** RFC 3339 time for new transitions; defaults to now */
  now?: string;
  /** set when another CRD already serves these names: NamesAccepted/Established become False */
  namesConflict?: { reason: string; message: string };
}

/**
 * The status of an accepted CRD: NamesAccepted and Established conditions (transition times kept
 * from crd.status when unchanged), acceptedNames, and storedVersions (previous ones plus the
 * current storage version).
 */
export function crdStatusConditions(crd: unknown, opts: CrdStatusOptions = {}): CrdStatus {
  const now = opts.now ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const previous = own(crd, 'status');
  const prevConditions = Array.isArray(own(previous, 'conditions')) ? (own(previous, 'conditions') as unknown[]).filter(isObj) : [];
  const condition = (type: CrdCondition['type'], status: CrdCondition['status'], reason: string, message: string): CrdCondition => {
    const prev = prevConditions.find((c) => own(c, 'type') === type);
    const keep = prev && own(prev, 'status') === status && typeof own(prev, 'lastTransitionTime') === 'string';
    return { type, status, reason, message, lastTransitionTime: keep ? (own(prev, 'lastTransitionTime') as string) : now };
  };
  const conflict = opts.namesConflict;
  const conditions = conflict
    ? [condition('NamesAccepted', 'False', conflict.reason, conflict.message), condition('Established', 'False', 'NotAccepted', 'not all names are accepted')]
    : [
        condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found'),
        condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted'),
      ];
  const prevNames = own(previous, 'acceptedNames');
  const acceptedNames = conflict && isObj(prevNames) ? acceptedNamesOf({ spec: { names: prevNames } }) : acceptedNamesOf(crd);
  const storedVersions = strings(own(previous, 'storedVersions'));
  const storage = crdToDefinition(crd).storageVersion;
  if (storage && !storedVersions.includes(storage)) storedVersions.push(storage);
  return { conditions, acceptedNames, storedVersions };
}
