// Secret data is base64 in JSON (Go []byte); stringData is a write-only convenience that the
// server folds into data, as upstream's conversion does.
import { isRecord } from '@kedge/kube-core';
import type { JsonObject } from '../json';

// Go's base64.StdEncoding: padded, standard alphabet.
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(value: string): boolean {
  return BASE64_RE.test(value);
}

export function base64DecodedLength(value: string): number {
  const pad = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((value.length * 3) / 4) - pad);
}

/**
 * Returns a copy of a Secret with `stringData` merged into `data` (base64 of the UTF-8 text;
 * stringData wins on conflicts) and removed. Entries that are not strings stay in `stringData` so
 * validateBuiltin('Secret') reports them; anything that is not an object is returned unchanged.
 */
export function normalizeSecret(obj: unknown): unknown {
  if (!isRecord(obj) || !Object.prototype.hasOwnProperty.call(obj, 'stringData')) return obj;
  const stringData = obj['stringData'];
  const out: JsonObject = { ...obj };
  if (stringData === null || stringData === undefined) {
    delete out['stringData'];
    return out;
  }
  if (!isRecord(stringData)) return out;
  const rawData = obj['data'];
  if (rawData !== undefined && rawData !== null && !isRecord(rawData)) return out;
  const data: JsonObject = { ...(rawData ?? {}) };
  const rest: JsonObject = {};
  for (const [k, v] of Object.entries(stringData)) {
    const target = typeof v === 'string' ? data : rest;
    Object.defineProperty(target, k, {
      value: typeof v === 'string' ? Buffer.from(v, 'utf8').toString('base64') : v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  out['data'] = data;
  if (Object.keys(rest).length > 0) out['stringData'] = rest;
  else delete out['stringData'];
  return out;
}
