// Pruning and defaulting as the apiextensions apiserver does them for structural schemas: unknown
// fields are dropped unless x-kubernetes-preserve-unknown-fields; `default` fills missing fields
// (and replaces nulls of non-nullable fields) top-down. Both return copies.
import { cloneJson, isRecord } from '@kedge/kube-core';
import type { JsonObject } from '../json';
import { MAX_DEPTH, hasOwn, setOwn } from '../json';
import type { SchemaNode } from './node';
import { ROOT_FIELDS } from './validate';

function childSchema(node: SchemaNode, key: string): SchemaNode | undefined {
  const prop = node.properties?.get(key);
  if (prop) return prop;
  return typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined;
}

export function pruneValue(node: SchemaNode, value: unknown, depth: number, root = false): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return node.items ? value.map((v) => pruneValue(node.items as SchemaNode, v, depth + 1)) : cloneJson(value);
  if (!isRecord(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    // Root and embedded apiVersion/kind/metadata are kept: the API layer owns metadata.
    if ((root || node.embeddedResource) && ROOT_FIELDS.has(key)) {
      const prop = node.properties?.get(key);
      setOwn(out, key, prop && key !== 'metadata' ? pruneValue(prop, v, depth + 1) : cloneJson(v));
      continue;
    }
    const sub = childSchema(node, key);
    if (sub) setOwn(out, key, pruneValue(sub, v, depth + 1));
    else if (node.preserveUnknownFields || node.additionalProperties === true) setOwn(out, key, cloneJson(v));
  }
  return out;
}

export function defaultValue(node: SchemaNode, value: unknown, depth: number, root = false): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return node.items ? value.map((v) => defaultValue(node.items as SchemaNode, v, depth + 1)) : cloneJson(value);
  if (!isRecord(value)) return value;
  const out: JsonObject = cloneJson(value);
  for (const [key, prop] of node.properties ?? []) {
    if (root && key === 'metadata') continue;
    const present = hasOwn(out, key);
    // Upstream drops nulls of non-nullable fields before defaulting.
    if (present && out[key] === null && !prop.nullable) delete out[key];
    if (!hasOwn(out, key) && prop.hasDefault) setOwn(out, key, cloneJson(prop.default));
  }
  for (const key of Object.keys(out)) {
    if (root && ROOT_FIELDS.has(key)) continue;
    const sub = childSchema(node, key);
    if (sub && out[key] !== null) setOwn(out, key, defaultValue(sub, out[key], depth + 1));
  }
  return out;
}
