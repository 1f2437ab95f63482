// The compiled form of an openAPIV3Schema. Compilation is tolerant: keywords of the wrong type are
// ignored here (isStructuralSchema reports them), so a validator can always be built.
import { isRecord } from '@kedge/kube-core';
import type { JsonObject } from '../json';
import { MAX_DEPTH, getOwn } from '../json';

export interface SchemaNode {
  type?: string;
  nullable: boolean;
  properties?: Map<string, SchemaNode>;
  /** a schema for other keys, or a boolean (false forbids other keys) */
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required: string[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum: boolean;
  exclusiveMaximum: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: { source: string; re: RegExp };
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  format?: string;
  intOrString: boolean;
  preserveUnknownFields: boolean;
  embeddedResource: boolean;
  listType?: string;
  listMapKeys?: string[];
  hasDefault: boolean;
  default?: unknown;
  allOf: SchemaNode[];
  anyOf: SchemaNode[];
  oneOf: SchemaNode[];
  not?: SchemaNode;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** Compiles a pattern as upstream's RE2 would accept it (best effort: JS syntax, unicode mode). */
export function compilePattern(source: string): RegExp | undefined {
  try {
    return new RegExp(source, 'u');
  } catch {
    try {
      return new RegExp(source);
    } catch {
      return undefined;
    }
  }
}

export function compileNode(raw: unknown, depth = 0): SchemaNode {
  const s: JsonObject = isRecord(raw) && depth <= MAX_DEPTH ? raw : {};
  const sub = (v: unknown) => compileNode(v, depth + 1);
  const list = (v: unknown) => (Array.isArray(v) ? v.filter(isRecord).map(sub) : []);
  const node: SchemaNode = {
    nullable: getOwn(s, 'nullable') === true,
    required: Array.isArray(getOwn(s, 'required')) ? (getOwn(s, 'required') as unknown[]).filter((r): r is string => typeof r === 'string') : [],
    exclusiveMinimum: getOwn(s, 'exclusiveMinimum') === true,
    exclusiveMaximum: getOwn(s, 'exclusiveMaximum') === true,
    intOrString: getOwn(s, 'x-kubernetes-int-or-string') === true,
    preserveUnknownFields: getOwn(s, 'x-kubernetes-preserve-unknown-fields') === true,
    embeddedResource: getOwn(s, 'x-kubernetes-embedded-resource') === true,
    hasDefault: getOwn(s, 'default') !== undefined,
    allOf: list(getOwn(s, 'allOf')),
    anyOf: list(getOwn(s, 'anyOf')),
    oneOf: list(getOwn(s, 'oneOf')),
  };
  const type = getOwn(s, 'type');
  if (typeof type === 'string' && type !== '') node.type = type;
  const props = getOwn(s, 'properties');
  if (isRecord(props)) node.properties = new Map(Object.keys(props).map((k) => [k, sub(props[k])]));
  const ap = getOwn(s, 'additionalProperties');
  if (typeof ap === 'boolean') node.additionalProperties = ap;
  else if (isRecord(ap)) node.additionalProperties = sub(ap);
  const items = getOwn(s, 'items');
  if (isRecord(items)) node.items = sub(items);
  if (Array.isArray(getOwn(s, 'enum'))) node.enum = getOwn(s, 'enum') as unknown[];
  const setNum = <K extends keyof SchemaNode>(key: K, value: SchemaNode[K] | undefined) => {
    if (value !== undefined) node[key] = value;
  };
  setNum('minimum', num(getOwn(s, 'minimum')));
  setNum('maximum', num(getOwn(s, 'maximum')));
  const multipleOf = num(getOwn(s, 'multipleOf'));
  if (multipleOf !== undefined && multipleOf > 0) node.multipleOf = multipleOf;
  setNum('minLength', count(getOwn(s, 'minLength')));
  setNum('maxLength', count(getOwn(s, 'maxLength')));
  setNum('minItems', count(getOwn(s, 'minItems')));
  setNum('maxItems', count(getOwn(s, 'maxItems')));
  setNum('minProperties', count(getOwn(s, 'minProperties')));
  setNum('maxProperties', count(getOwn(s, 'maxProperties')));
  const pattern = getOwn(s, 'pattern');
  if (typeof pattern === 'string') {
    const re = compilePattern(pattern);
    if (re) node.pattern = { source: pattern, re };
  }
  const format = getOwn(s, 'format');
  if (typeof format === 'string' && format !== '') node.format = format;
  const listType = getOwn(s, 'x-kubernetes-list-type');
  if (typeof listType === 'string') node.listType = listType;
  const keys = getOwn(s, 'x-kubernetes-list-map-keys');
  if (Array.isArray(keys)) node.listMapKeys = keys.filter((k): k is string => typeof k === 'string');
  if (node.hasDefault) node.default = getOwn(s, 'default');
  const not = getOwn(s, 'not');
  if (isRecord(not)) node.not = sub(not);
  return node;
}
