// The compiled form of an openAPIV3Schema. Compilation is tolerant: keywords of the wrong type are
// ignored here (isStructuralSchema reports them), so a validator can always be built.
import type { JsonObject } from './json';
import { MAX_DEPTH, isObject, own } from './json';

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
  const s: JsonObject = isObject(raw) && depth <= MAX_DEPTH ? raw : {};
  const sub = (v: unknown) => compileNode(v, depth + 1);
  const list = (v: unknown) => (Array.isArray(v) ? v.filter(isObject).map(sub) : []);
  const node: SchemaNode = {
    nullable: own(s, 'nullable') === true,
    required: Array.isArray(own(s, 'required')) ? (own(s, 'required') as unknown[]).filter((r): r is string => typeof r === 'string') : [],
    exclusiveMinimum: own(s, 'exclusiveMinimum') === true,
    exclusiveMaximum: own(s, 'exclusiveMaximum') === true,
    intOrString: own(s, 'x-kubernetes-int-or-string') === true,
    preserveUnknownFields: own(s, 'x-kubernetes-preserve-unknown-fields') === true,
    embeddedResource: own(s, 'x-kubernetes-embedded-resource') === true,
    hasDefault: own(s, 'default') !== undefined,
    allOf: list(own(s, 'allOf')),
    anyOf: list(own(s, 'anyOf')),
    oneOf: list(own(s, 'oneOf')),
  };
  const type = own(s, 'type');
  if (typeof type === 'string' && type !== '') node.type = type;
  const props = own(s, 'properties');
  if (isObject(props)) node.properties = new Map(Object.keys(props).map((k) => [k, sub(props[k])]));
  const ap = own(s, 'additionalProperties');
  if (typeof ap === 'boolean') node.additionalProperties = ap;
  else if (isObject(ap)) node.additionalProperties = sub(ap);
  const items = own(s, 'items');
  if (isObject(items)) node.items = sub(items);
  if (Array.isArray(own(s, 'enum'))) node.enum = own(s, 'enum') as unknown[];
  const setNum = <K extends keyof SchemaNode>(key: K, value: SchemaNode[K] | undefined) => {
    if (value !== undefined) node[key] = value;
  };
  setNum('minimum', num(own(s, 'minimum')));
  setNum('maximum', num(own(s, 'maximum')));
  const multipleOf = num(own(s, 'multipleOf'));
  if (multipleOf !== undefined && multipleOf > 0) node.multipleOf = multipleOf;
  setNum('minLength', count(own(s, 'minLength')));
  setNum('maxLength', count(own(s, 'maxLength')));
  setNum('minItems', count(own(s, 'minItems')));
  setNum('maxItems', count(own(s, 'maxItems')));
  setNum('minProperties', count(own(s, 'minProperties')));
  setNum('maxProperties', count(own(s, 'maxProperties')));
  const pattern = own(s, 'pattern');
  if (typeof pattern === 'string') {
    const re = compilePattern(pattern);
    if (re) node.pattern = { source: pattern, re };
  }
  const format = own(s, 'format');
  if (typeof format === 'string' && format !== '') node.format = format;
  const listType = own(s, 'x-kubernetes-list-type');
  if (typeof listType === 'string') node.listType = listType;
  const keys = own(s, 'x-kubernetes-list-map-keys');
  if (Array.isArray(keys)) node.listMapKeys = keys.filter((k): k is string => typeof k === 'string');
  if (node.hasDefault) node.default = own(s, 'default');
  const not = own(s, 'not');
  if (isObject(not)) node.not = sub(not);
  return node;
}
