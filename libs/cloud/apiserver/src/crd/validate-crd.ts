// Validation of apiextensions.k8s.io/v1 CustomResourceDefinitions, after apiextensions-apiserver's
// ValidateCustomResourceDefinition: names, group, scope, versions (one storage version, structural
// schemas), subresources, printer columns and conversion.
import { isStructuralSchema } from '../schema/index';
import type { FieldError } from '../validation/index';
import {
  dns1035LabelProblems,
  dns1123LabelProblems,
  dns1123SubdomainProblems,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldWrongType,
  pathChild,
  pathIndex,
  validateObjectMeta,
} from '../validation/index';
import { parseJsonPath } from './jsonpath';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Obj, k: string): unknown => (Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);

export const PRINTER_COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
export const PRINTER_COLUMN_FORMATS = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];
const SCOPES = ['Cluster', 'Namespaced'];

function str(o: Obj, key: string, path: string, errs: FieldError[], required = false): string | undefined {
  const v = own(o, key);
  if (v === undefined || v === null || v === '') {
    if (required) errs.push(fieldRequired(path));
    return undefined;
  }
  if (typeof v !== 'string') return void errs.push(fieldWrongType(path, v, 'string'));
  return v;
}

function obj(o: Obj, key: string, path: string, errs: FieldError[]): Obj | undefined {
  const v = own(o, key);
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) return void errs.push(fieldWrongType(path, v, 'object'));
  return v;
}

function arr(o: Obj, key: string, path: string, errs: FieldError[]): unknown[] {
  const v = own(o, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return (errs.push(fieldWrongType(path, v, 'array')), []);
  return v;
}

function bool(o: Obj, key: string, path: string, errs: FieldError[]): boolean {
  const v = own(o, key);
  if (v !== undefined && v !== null && typeof v !== 'boolean') errs.push(fieldWrongType(path, v, 'boolean'));
  return v === true;
}

function labelList(o: Obj, key: string, path: string, errs: FieldError[]): void {
  arr(o, key, path, errs).forEach((v, i) => {
    const p = pathIndex(path, i);
    if (typeof v !== 'string') return void errs.push(fieldWrongType(p, v, 'string'));
    for (const m of dns1123LabelProblems(v)) errs.push(fieldInvalid(p, v, m));
  });
}

function kindProblems(kind: string): string[] {
  return dns1035LabelProblems(kind.toLowerCase()).map((m) => `may have mixed case, but should otherwise match: ${m}`);
}

function validateNames(names: Obj, errs: FieldError[]): { plural?: string } {
  const p = 'spec.names';
  const plural = str(names, 'plural', `${p}.plural`, errs, true);
  if (plural) for (const m of dns1123LabelProblems(plural)) errs.push(fieldInvalid(`${p}.plural`, plural, m));
  const singular = str(names, 'singular', `${p}.singular`, errs);
  if (singular) for (const m of dns1123LabelProblems(singular)) errs.push(fieldInvalid(`${p}.singular`, singular, m));
  const kind = str(names, 'kind', `${p}.kind`, errs, true);
  if (kind) for (const m of kindProblems(kind)) errs.push(fieldInvalid(`${p}.kind`, kind, m));
  const listKind = str(names, 'listKind', `${p}.listKind`, errs);
  if (listKind) {
    for (const m of kindProblems(listKind)) errs.push(fieldInvalid(`${p}.listKind`, listKind, m));
    if (listKind === kind) errs.push(fieldInvalid(`${p}.listKind`, listKind, 'kind and listKind may not be the same or the kind of the list'));
  }
  labelList(names, 'shortNames', `${p}.shortNames`, errs);
  labelList(names, 'categories', `${p}.categories`, errs);
  return plural === undefined ? {} : { plural };
}

function validateJsonPathField(o: Obj, key: string, path: string, errs: FieldError[], prefixes: string[] | undefined, required: boolean, what: string): void {
  const v = str(o, key, path, errs, required);
  if (v === undefined) return;
  const parsed = parseJsonPath(v);
  if (!parsed.ok) errs.push(fieldInvalid(path, v, `must be a simple json path starting with . (${parsed.error})`));
  else if (prefixes && !prefixes.some((pre) => v.startsWith(pre))) errs.push(fieldInvalid(path, v, `should be a json path under ${what}`));
}

function validateVersion(v: Obj, path: string, errs: FieldError[]): void {
  const name = str(v, 'name', pathChild(path, 'name'), errs, true);
  if (name) for (const m of dns1035LabelProblems(name)) errs.push(fieldInvalid(pathChild(path, 'name'), name, m));
  bool(v, 'served', pathChild(path, 'served'), errs);
  bool(v, 'storage', pathChild(path, 'storage'), errs);
  bool(v, 'deprecated', pathChild(path, 'deprecated'), errs);
  const warning = str(v, 'deprecationWarning', pathChild(path, 'deprecationWarning'), errs);
  if (warning !== undefined && warning.length > 256) errs.push(fieldInvalid(pathChild(path, 'deprecationWarning'), warning, 'must be <= 256 characters long'));

  const schemaPath = pathChild(path, 'schema');
  const schema = obj(v, 'schema', schemaPath, errs);
  const openAPI = schema ? own(schema, 'openAPIV3Schema') : undefined;
  const openAPIPath = pathChild(schemaPath, 'openAPIV3Schema');
  if (openAPI === undefined || openAPI === null) errs.push(fieldRequired(openAPIPath, 'schemas are required'));
  else errs.push(...isStructuralSchema(openAPI, openAPIPath));

  const subPath = pathChild(path, 'subresources');
  const sub = obj(v, 'subresources', subPath, errs);
  if (sub) {
    obj(sub, 'status', pathChild(subPath, 'status'), errs);
    const scalePath = pathChild(subPath, 'scale');
    const scale = obj(sub, 'scale', scalePath, errs);
    if (scale) {
      validateJsonPathField(scale, 'specReplicasPath', pathChild(scalePath, 'specReplicasPath'), errs, ['.spec.'], true, '.spec');
      validateJsonPathField(scale, 'statusReplicasPath', pathChild(scalePath, 'statusReplicasPath'), errs, ['.status.'], true, '.status');
      validateJsonPathField(scale, 'labelSelectorPath', pathChild(scalePath, 'labelSelectorPath'), errs, ['.spec.', '.status.'], false, 'either .spec or .status');
    }
  }

  const colsPath = pathChild(path, 'additionalPrinterColumns');
  const seen = new Set<string>();
  arr(v, 'additionalPrinterColumns', colsPath, errs).forEach((raw, i) => {
    const p = pathIndex(colsPath, i);
    if (!isObj(raw)) return void errs.push(fieldWrongType(p, raw, 'object'));
    const colName = str(raw, 'name', pathChild(p, 'name'), errs, true);
    if (colName !== undefined) {
      if (seen.has(colName)) errs.push(fieldDuplicate(pathChild(p, 'name'), colName));
      seen.add(colName);
    }
    const type = str(raw, 'type', pathChild(p, 'type'), errs, true);
    if (type !== undefined && !PRINTER_COLUMN_TYPES.includes(type)) errs.push(fieldNotSupported(pathChild(p, 'type'), type, PRINTER_COLUMN_TYPES));
    const format = str(raw, 'format', pathChild(p, 'format'), errs);
    if (format !== undefined && !PRINTER_COLUMN_FORMATS.includes(format)) errs.push(fieldNotSupported(pathChild(p, 'format'), format, PRINTER_COLUMN_FORMATS));
    str(raw, 'description', pathChild(p, 'description'), errs);
    const priority = own(raw, 'priority');
    if (priority !== undefined && priority !== null) {
      if (typeof priority !== 'number' || !Number.isInteger(priority)) errs.push(fieldWrongType(pathChild(p, 'priority'), priority, 'integer'));
      else if (priority < 0) errs.push(fieldInvalid(pathChild(p, 'priority'), priority, 'must be greater than or equal to 0'));
    }
    validateJsonPathField(raw, 'jsonPath', pathChild(p, 'jsonPath'), errs, undefined, true, '');
  });
}

const PROTECTED_GROUP_RE = /(^|\.)(k8s\.io|kubernetes\.io)$/;

/** Field errors for an apiextensions.k8s.io/v1 CustomResourceDefinition ([] when valid). */
export function validateCustomResourceDefinition(crd: unknown): FieldError[] {
  if (!isObj(crd)) return [fieldWrongType('', crd, 'object')];
  const errs = validateObjectMeta(own(crd, 'metadata'), { namespaced: false, kind: 'CustomResourceDefinition', nameRule: 'subdomain' });
  const specRaw = own(crd, 'spec');
  if (!isObj(specRaw)) {
    errs.push(specRaw === undefined || specRaw === null ? fieldRequired('spec') : fieldWrongType('spec', specRaw, 'object'));
    return errs;
  }
  const spec = specRaw;
  const group = str(spec, 'group', 'spec.group', errs, true);
  if (group) {
    for (const m of dns1123SubdomainProblems(group)) errs.push(fieldInvalid('spec.group', group, m));
    if (!group.includes('.')) errs.push(fieldInvalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  const namesRaw = own(spec, 'names');
  const names = isObj(namesRaw) ? validateNames(namesRaw, errs) : {};
  if (!isObj(namesRaw)) errs.push(namesRaw === undefined || namesRaw === null ? fieldRequired('spec.names.plural') : fieldWrongType('spec.names', namesRaw, 'object'));

  const meta = own(crd, 'metadata');
  const name = isObj(meta) ? own(meta, 'name') : undefined;
  if (typeof name === 'string' && name !== '' && names.plural && group && name !== `${names.plural}.${group}`)
    errs.push(fieldInvalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  if (group && PROTECTED_GROUP_RE.test(group)) {
    const ann = isObj(meta) ? own(meta, 'annotations') : undefined;
    if (!isObj(ann) || typeof own(ann, 'api-approved.kubernetes.io') !== 'string')
      errs.push(fieldRequired('metadata.annotations[api-approved.kubernetes.io]', 'protected groups must have approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111'));
  }

  const scope = str(spec, 'scope', 'spec.scope', errs, true);
  if (scope !== undefined && !SCOPES.includes(scope)) errs.push(fieldNotSupported('spec.scope', scope, SCOPES));

  const rawVersions = own(spec, 'versions');
  const versions = arr(spec, 'versions', 'spec.versions', errs);
  if (versions.length === 0 && (rawVersions === undefined || rawVersions === null || Array.isArray(rawVersions)))
    errs.push(fieldRequired('spec.versions', 'must have at least one version'));
  const versionNames = new Set<string>();
  let storage = 0;
  versions.forEach((raw, i) => {
    const p = pathIndex('spec.versions', i);
    if (!isObj(raw)) return void errs.push(fieldWrongType(p, raw, 'object'));
    validateVersion(raw, p, errs);
    const vName = own(raw, 'name');
    if (typeof vName === 'string' && vName !== '') {
      if (versionNames.has(vName)) errs.push(fieldDuplicate(pathChild(p, 'name'), vName));
      versionNames.add(vName);
    }
    if (own(raw, 'storage') === true) storage++;
  });
  if (versions.length > 0 && storage !== 1)
    errs.push(fieldInvalid('spec.versions', versions.map((v) => (isObj(v) ? own(v, 'name') : v)), 'must have exactly one version marked as storage version'));

  const conversion = obj(spec, 'conversion', 'spec.conversion', errs);
  if (conversion) {
    const strategy = str(conversion, 'strategy', 'spec.conversion.strategy', errs);
    if (strategy !== undefined && strategy !== 'None' && strategy !== 'Webhook')
      errs.push(fieldNotSupported('spec.conversion.strategy', strategy, ['None', 'Webhook']));
    if (strategy === 'Webhook') {
      const webhook = obj(conversion, 'webhook', 'spec.conversion.webhook', errs);
      if (!webhook) errs.push(fieldRequired('spec.conversion.webhook', 'required when strategy is set to Webhook'));
      else if (arr(webhook, 'conversionReviewVersions', 'spec.conversion.webhook.conversionReviewVersions', errs).length === 0)
        errs.push(fieldRequired('spec.conversion.webhook.conversionReviewVersions'));
    } else if (own(conversion, 'webhook') !== undefined && own(conversion, 'webhook') !== null) {
      errs.push(fieldForbidden('spec.conversion.webhook', 'should not be set when strategy is not set to Webhook'));
    }
  }
  if (own(spec, 'preserveUnknownFields') === true)
    errs.push(fieldInvalid('spec.preserveUnknownFields', true, 'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'));
  return errs;
}
