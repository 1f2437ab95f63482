// metadata validation, after apimachinery's ValidateObjectMeta: name/generateName, namespace scope,
// labels, annotations (256 KiB total), finalizers and ownerReferences.
import type { FieldError } from './field-error';
import { fieldForbidden, fieldInvalid, fieldRequired, fieldTooLong, pathChild, pathIndex } from './field-error';
import {
  dns1035LabelProblems,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  labelValueProblems,
  pathSegmentProblems,
  qualifiedNameProblems,
} from './names';
import { readArray, readBoolean, readInteger, readObject, readString, readStringMap } from './read';

/** How `metadata.name` is checked: most kinds use DNS-1123 subdomains. */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path-segment';

export interface ObjectMetaOptions {
  /** whether the kind lives in a namespace (then metadata.namespace is required unless `namespace` is given) */
  namespaced: boolean;
  kind?: string;
  /** defaults to nameRuleForKind(kind) */
  nameRule?: NameRule;
  /** the namespace of the request URL; metadata.namespace must match it when both are set */
  namespace?: string;
}

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** Upstream: Namespaces are DNS-1123 labels, Services DNS-1035 labels, everything else subdomains. */
export function nameRuleForKind(kind: string | undefined): NameRule {
  if (kind === 'Namespace') return 'label';
  if (kind === 'Service') return 'dns1035';
  return 'subdomain';
}

function nameProblems(rule: NameRule, name: string, prefix: boolean): string[] {
  // A generateName prefix may end in '-': mask it as upstream's maskTrailingDash does.
  const value = prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
  switch (rule) {
    case 'label':
      return dns1123LabelProblems(value);
    case 'dns1035':
      return dns1035LabelProblems(value);
    case 'path-segment':
      return pathSegmentProblems(value);
    default:
      return dns1123SubdomainProblems(value);
  }
}

export function validateObjectMeta(meta: unknown, opts: ObjectMetaOptions, path = 'metadata'): FieldError[] {
  const errs: FieldError[] = [];
  const m = readObject(meta, path, errs);
  if (meta === undefined || meta === null) {
    errs.push(fieldRequired(pathChild(path, 'name'), 'name or generateName is required'));
    return errs;
  }
  if (!m) return errs;
  const rule = opts.nameRule ?? nameRuleForKind(opts.kind);

  const namePath = pathChild(path, 'name');
  const genPath = pathChild(path, 'generateName');
  const name = readString(m['name'], namePath, errs) ?? '';
  const generateName = readString(m['generateName'], genPath, errs) ?? '';
  if (generateName) for (const p of nameProblems(rule, generateName, true)) errs.push(fieldInvalid(genPath, generateName, p));
  if (name) for (const p of nameProblems(rule, name, false)) errs.push(fieldInvalid(namePath, name, p));
  else if (!generateName && !errs.some((e) => e.field === namePath))
    errs.push(fieldRequired(namePath, 'name or generateName is required'));

  const nsPath = pathChild(path, 'namespace');
  const namespace = readString(m['namespace'], nsPath, errs) ?? '';
  if (opts.namespaced) {
    if (!namespace && !opts.namespace) errs.push(fieldRequired(nsPath));
    else if (namespace) {
      for (const p of dns1123LabelProblems(namespace)) errs.push(fieldInvalid(nsPath, namespace, p));
      if (opts.namespace && namespace !== opts.namespace)
        errs.push(fieldInvalid(nsPath, namespace, 'the namespace of the provided object does not match the namespace sent on the request'));
    }
  } else if (namespace) {
    errs.push(fieldForbidden(nsPath, 'not allowed on this type'));
  }

  const generation = readInteger(m['generation'], pathChild(path, 'generation'), errs);
  if (generation !== undefined && generation < 0)
    errs.push(fieldInvalid(pathChild(path, 'generation'), generation, 'must be greater than or equal to 0'));
  for (const f of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'selfLink'])
    readString(m[f], pathChild(path, f), errs);

  errs.push(...validateLabels(m['labels'], pathChild(path, 'labels')));
  errs.push(...validateAnnotations(m['annotations'], pathChild(path, 'annotations')));
  validateFinalizers(m['finalizers'], pathChild(path, 'finalizers'), errs);
  validateOwnerReferences(m['ownerReferences'], pathChild(path, 'ownerReferences'), errs);
  readArray(m['managedFields'], pathChild(path, 'managedFields'), errs);
  return errs;
}

/** Label maps (also selectors): qualified-name keys and ≤63-char label values; errors name the map. */
export function validateLabels(labels: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of readStringMap(labels, path, errs)) {
    for (const p of qualifiedNameProblems(k)) errs.push(fieldInvalid(path, k, p));
    for (const p of labelValueProblems(v)) errs.push(fieldInvalid(path, v, p));
  }
  return errs;
}

export function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of readStringMap(annotations, path, errs)) {
    for (const p of qualifiedNameProblems(k.toLowerCase())) errs.push(fieldInvalid(path, k, p));
    total += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldTooLong(path, '', TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

function validateFinalizers(value: unknown, path: string, errs: FieldError[]): void {
  const list = readArray(value, path, errs) ?? [];
  const seen = new Set<string>();
  list.forEach((item, i) => {
    const f = readString(item, pathIndex(path, i), errs);
    if (f === undefined) return;
    for (const p of qualifiedNameProblems(f)) errs.push(fieldInvalid(pathIndex(path, i), f, p));
    seen.add(f);
  });
  if (seen.has('orphan') && seen.has('foregroundDeletion'))
    errs.push(fieldInvalid(path, [...seen], 'finalizer orphan and foregroundDeletion cannot be both set'));
}

function validateOwnerReferences(value: unknown, path: string, errs: FieldError[]): void {
  const list = readArray(value, path, errs) ?? [];
  let controllers = 0;
  list.forEach((item, i) => {
    const p = pathIndex(path, i);
    const ref = readObject(item, p, errs);
    if (!ref) return;
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      const v = readString(ref[f], pathChild(p, f), errs);
      if (!v) errs.push(fieldRequired(pathChild(p, f)));
    }
    if (readBoolean(ref['controller'], pathChild(p, 'controller'), errs)) controllers++;
    readBoolean(ref['blockOwnerDeletion'], pathChild(p, 'blockOwnerDeletion'), errs);
  });
  if (controllers > 1) errs.push(fieldInvalid(path, controllers, 'Only one reference can have Controller set to true'));
}
