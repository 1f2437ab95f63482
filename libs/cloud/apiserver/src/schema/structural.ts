// Whether an openAPIV3Schema is structural (apiextensions' rules), so a CRD with a schema we could
// not prune or default is refused with 422 instead of being served loosely.
import { isRecord } from '@kedge/kube-core';
import type { FieldError } from '../validation/index';
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, fieldWrongType, pathChild, pathIndex, pathKey } from '../validation/index';
import type { JsonObject } from '../json';
import { MAX_DEPTH, getOwn } from '../json';
import { compileNode, compilePattern } from './node';
import { validateValue } from './validate';

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const UNSUPPORTED = ['$ref', '$schema', 'id', 'definitions', 'dependencies', 'additionalItems', 'patternProperties'];
// Keywords a schema under allOf/anyOf/oneOf/not may not set.
const JUNCTOR_FORBIDDEN = ['type', 'default', 'additionalProperties', 'nullable', 'description', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource'];
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'];
const NUMBER_KEYS = ['minimum', 'maximum', 'multipleOf'];
const COUNT_KEYS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties'];
const BOOL_KEYS = ['nullable', 'exclusiveMinimum', 'exclusiveMaximum', 'uniqueItems', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource'];

interface Ctx {
  root: boolean;
  inJunctor: boolean;
  depth: number;
  /** property names of the enclosing (non-junctor) schema, for junctor property checks */
  outerProps?: Set<string>;
}

function checkNode(raw: unknown, path: string, ctx: Ctx, errs: FieldError[]): void {
  if (!isRecord(raw)) return void errs.push(fieldWrongType(path, raw, 'object'));
  if (ctx.depth > MAX_DEPTH) return void errs.push(fieldInvalid(path, '<nested>', `schemas may not nest deeper than ${MAX_DEPTH} levels`));
  const s: JsonObject = raw;
  const child = (k: string) => pathChild(path, k);
  for (const k of UNSUPPORTED) if (getOwn(s, k) !== undefined) errs.push(fieldForbidden(child(k), `${k} is not supported`));
  for (const k of NUMBER_KEYS) if (getOwn(s, k) !== undefined && typeof getOwn(s, k) !== 'number') errs.push(fieldWrongType(child(k), getOwn(s, k), 'number'));
  for (const k of COUNT_KEYS) {
    const v = getOwn(s, k);
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) errs.push(fieldInvalid(child(k), v, 'must be a non-negative integer'));
  }
  for (const k of BOOL_KEYS) if (getOwn(s, k) !== undefined && typeof getOwn(s, k) !== 'boolean') errs.push(fieldWrongType(child(k), getOwn(s, k), 'boolean'));
  if (getOwn(s, 'uniqueItems') === true)
    errs.push(fieldForbidden(child('uniqueItems'), 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  if (getOwn(s, 'x-kubernetes-preserve-unknown-fields') === false)
    errs.push(fieldInvalid(child('x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'));

  const type = getOwn(s, 'type');
  const intOrString = getOwn(s, 'x-kubernetes-int-or-string') === true;
  const preserve = getOwn(s, 'x-kubernetes-preserve-unknown-fields') === true;
  if (ctx.inJunctor) {
    for (const k of JUNCTOR_FORBIDDEN) if (getOwn(s, k) !== undefined) errs.push(fieldForbidden(child(k), 'must be empty to be structural'));
  } else if (type === undefined || type === '') {
    if (ctx.root) errs.push(fieldRequired(child('type'), 'must not be empty at the root'));
    else if (!intOrString && !preserve) errs.push(fieldRequired(child('type'), 'must not be empty for specified object fields'));
  }
  if (type !== undefined && typeof type !== 'string') errs.push(fieldWrongType(child('type'), type, 'string'));
  else if (typeof type === 'string' && type !== '' && !TYPES.includes(type)) errs.push(fieldNotSupported(child('type'), type, TYPES));
  if (ctx.root && typeof type === 'string' && type !== '' && type !== 'object') errs.push(fieldInvalid(child('type'), type, 'must be object at the root'));
  if (intOrString && typeof type === 'string' && type !== '') errs.push(fieldForbidden(child('type'), 'must be empty if x-kubernetes-int-or-string is true'));
  if (getOwn(s, 'x-kubernetes-embedded-resource') === true) {
    if (type !== 'object') errs.push(fieldInvalid(child('type'), type ?? '', 'must be object if x-kubernetes-embedded-resource is true'));
    if (getOwn(s, 'properties') === undefined && !preserve)
      errs.push(fieldRequired(child('x-kubernetes-preserve-unknown-fields'), 'must be true if x-kubernetes-embedded-resource is true and no properties are given'));
  }

  const pattern = getOwn(s, 'pattern');
  if (pattern !== undefined && (typeof pattern !== 'string' || !compilePattern(pattern)))
    errs.push(fieldInvalid(child('pattern'), pattern, 'must be a valid regular expression'));
  const required = getOwn(s, 'required');
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === 'string')))
    errs.push(fieldWrongType(child('required'), required, 'array of strings'));
  const en = getOwn(s, 'enum');
  if (en !== undefined && !Array.isArray(en)) errs.push(fieldWrongType(child('enum'), en, 'array'));
  checkListType(s, path, errs);

  const next = (sub: Partial<Ctx>): Ctx => ({ root: false, inJunctor: ctx.inJunctor, depth: ctx.depth + 1, ...sub });
  const props = getOwn(s, 'properties');
  const propNames = isRecord(props) ? new Set(Object.keys(props)) : new Set<string>();
  if (props !== undefined && !isRecord(props)) errs.push(fieldWrongType(child('properties'), props, 'object'));
  else if (isRecord(props)) {
    for (const name of Object.keys(props)) checkNode(props[name], pathKey(child('properties'), name), next({}), errs);
    if (ctx.root && isRecord(props['metadata'])) checkRootMetadata(props['metadata'], pathKey(child('properties'), 'metadata'), errs);
  }
  if (ctx.inJunctor && ctx.outerProps)
    for (const name of propNames) if (!ctx.outerProps.has(name)) errs.push(fieldRequired(pathKey(child('properties'), name), 'must also be specified outside of the junctor to be structural'));

  const ap = getOwn(s, 'additionalProperties');
  if (ap !== undefined) {
    if (ctx.root) errs.push(fieldForbidden(child('additionalProperties'), 'must not be used at the root'));
    if (isRecord(props) && ap !== true) errs.push(fieldForbidden(child('additionalProperties'), 'additionalProperties and properties are mutual exclusive'));
    if (isRecord(ap)) checkNode(ap, child('additionalProperties'), next({}), errs);
    else if (typeof ap !== 'boolean') errs.push(fieldWrongType(child('additionalProperties'), ap, 'object'));
  }
  const items = getOwn(s, 'items');
  if (Array.isArray(items)) errs.push(fieldForbidden(child('items'), 'items must be a schema object and not an array'));
  else if (items !== undefined) checkNode(items, child('items'), next({}), errs);
  else if (type === 'array' && !ctx.inJunctor) errs.push(fieldRequired(child('items'), 'must be specified'));

  const junctorCtx = next({ inJunctor: true, outerProps: ctx.inJunctor ? ctx.outerProps : propNames });
  for (const j of JUNCTORS) {
    const list = getOwn(s, j);
    if (list === undefined) continue;
    if (!Array.isArray(list)) errs.push(fieldWrongType(child(j), list, 'array'));
    // The int-or-string idiom `anyOf: [{type: integer}, {type: string}]` is allowed.
    else if (!(intOrString && j === 'anyOf')) list.forEach((sub, i) => checkNode(sub, pathIndex(child(j), i), junctorCtx, errs));
  }
  if (getOwn(s, 'not') !== undefined) checkNode(getOwn(s, 'not'), child('not'), junctorCtx, errs);

  const def = getOwn(s, 'default');
  if (def !== undefined) {
    if (ctx.root) errs.push(fieldForbidden(child('default'), 'must not be set at the root'));
    else if (!ctx.inJunctor) {
      const defErrs: FieldError[] = [];
      validateValue(compileNode(s), def, '', defErrs, 0);
      for (const e of defErrs) errs.push(fieldInvalid(child('default'), def, `${e.field ? `${e.field}: ` : ''}${e.message}`));
    }
  }
}

function checkListType(s: JsonObject, path: string, errs: FieldError[]): void {
  const listType = getOwn(s, 'x-kubernetes-list-type');
  if (listType === undefined) return;
  const p = pathChild(path, 'x-kubernetes-list-type');
  if (typeof listType !== 'string' || !['atomic', 'set', 'map'].includes(listType))
    return void errs.push(fieldNotSupported(p, listType, ['atomic', 'map', 'set']));
  if (getOwn(s, 'type') !== 'array') errs.push(fieldInvalid(p, listType, 'must only be used if type is array'));
  if (listType === 'map') {
    const keys = getOwn(s, 'x-kubernetes-list-map-keys');
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string'))
      errs.push(fieldRequired(pathChild(path, 'x-kubernetes-list-map-keys'), 'must not be empty if x-kubernetes-list-type is map'));
  }
}

// Upstream: at the root, metadata may only constrain name and generateName (both strings).
function checkRootMetadata(meta: JsonObject, path: string, errs: FieldError[]): void {
  const allowed = new Set(['type', 'properties', 'description', 'title']);
  const props = getOwn(meta, 'properties');
  const extra = Object.keys(meta).some((k) => !allowed.has(k)) || (isRecord(props) && Object.keys(props).some((k) => k !== 'name' && k !== 'generateName'));
  if (extra) errs.push(fieldForbidden(path, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
  if (getOwn(meta, 'type') !== undefined && getOwn(meta, 'type') !== 'object') errs.push(fieldInvalid(pathChild(path, 'type'), getOwn(meta, 'type'), 'must be object'));
}

/** Returns why `schema` is not a structural schema ([] when it is); `path` prefixes every field. */
export function isStructuralSchema(schema: unknown, path = 'openAPIV3Schema'): FieldError[] {
  const errs: FieldError[] = [];
  checkNode(schema, path, { root: true, inJunctor: false, depth: 0 }, errs);
  return errs;
}
