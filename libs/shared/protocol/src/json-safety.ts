// Guards that run around JSON.parse: a nesting-depth scan before it (deep nesting costs seconds to
// parse and overflows any recursive consumer later) and a forbidden-key walk after it.
import { ProtocolError } from './errors';

/** Deepest nesting accepted inside `content`; Kubernetes objects stay far below this. */
export const MAX_CONTENT_DEPTH = 64;

/** Keys refused anywhere in a frame: JSON.parse keeps them as own data, but a later merge would not. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__']);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * Refuses frame text nested deeper than `maxDepth` containers, without parsing it. The frame object
 * itself is depth 1, so content may nest `maxDepth - 1` levels. Malformed text may slip through or be
 * refused here; either way JSON.parse has the last word on syntax.
 */
export function assertFrameDepth(text: string, maxDepth: number = MAX_CONTENT_DEPTH + 1): void {
  // nesting needs an opening bracket per level: most frames have too few to go deep, and counting
  // them with indexOf is several times cheaper than the character-by-character scan below
  if (hasAtMostContainers(text, maxDepth)) return;
  let depth = 0;
  let inString = false;
  let stringStart = 0;
  // the last string seen directly inside the top-level object: the key of the value being entered
  let topKeyStart = -1;
  let topKeyEnd = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) {
        inString = false;
        if (depth === 1) {
          topKeyStart = stringStart;
          topKeyEnd = i + 1;
        }
      }
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      stringStart = i;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > maxDepth) {
        const field = topLevelKey(text, topKeyStart, topKeyEnd);
        throw new ProtocolError(
          'TOO_DEEP',
          `frame${field === undefined ? '' : ` field "${field}"`}: JSON nests deeper than ${maxDepth - 1} levels; flatten the payload`,
          field === undefined ? {} : { field },
        );
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
}

/** true when `text` holds at most `limit` `{` and `[` characters, quoted ones included. */
export function hasAtMostContainers(text: string, limit: number): boolean {
  let count = 0;
  for (let i = text.indexOf('{'); i >= 0; i = text.indexOf('{', i + 1)) if (++count > limit) return false;
  for (let i = text.indexOf('['); i >= 0; i = text.indexOf('[', i + 1)) if (++count > limit) return false;
  return true;
}

function topLevelKey(text: string, start: number, end: number): string | undefined {
  if (start < 0 || end - start > 130) return undefined;
  const key = text.slice(start + 1, end - 1);
  // an escaped key would need a JSON parse to read; the error is still right without a field
  return key.includes('\\') ? undefined : key;
}

/**
 * Walks a JSON-like value, refusing forbidden keys, non-finite numbers and nesting deeper than
 * `maxDepth` containers.
 * Recursion is safe: it stops at `maxDepth`, which also stops on cyclic values.
 */
export function assertSafeJsonValue(value: unknown, path: string, maxDepth: number = MAX_CONTENT_DEPTH): void {
  // the walk that names the offending field builds a path string per key; only a value the quick
  // check doubts pays for it
  if (!looksSafe(value, 1, maxDepth)) walk(value, path, path, 1, maxDepth);
}

/**
 * The rules of `walk` without the paths: false when `walk` might throw. for-in visits every key
 * Object.keys does (and inherited enumerable ones too), so true here means `walk` would pass.
 */
function looksSafe(value: unknown, depth: number, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'number' || Number.isFinite(value);
  if (depth > maxDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!looksSafe(value[i], depth + 1, maxDepth)) return false;
    return true;
  }
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key) || !looksSafe((value as Record<string, unknown>)[key], depth + 1, maxDepth)) return false;
  }
  return true;
}

function walk(value: unknown, root: string, path: string, depth: number, maxDepth: number): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // JSON.parse turns 1e400 into Infinity, which JSON.stringify would then send on as null
    throw new ProtocolError('INVALID_FIELD', `frame field "${path}": expected a finite number, got ${String(value)}`, {
      field: path,
    });
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth > maxDepth) {
    // the root (or, walking a whole frame, its top-level key), not the full path: a path 64 levels
    // deep helps nobody read the error
    const field = root === '' ? (/^[^.[]*/.exec(path)?.[0] ?? '') : root;
    throw new ProtocolError('TOO_DEEP', `frame field "${field}": JSON nests deeper than ${maxDepth} levels; flatten the payload`, {
      field,
    });
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walk(value[i], root, `${path}[${i}]`, depth + 1, maxDepth);
    return;
  }
  for (const key of Object.keys(value)) {
    const childPath = joinPath(path, key);
    if (FORBIDDEN_KEYS.has(key)) {
      throw new ProtocolError('FORBIDDEN_KEY', `frame field "${childPath}": the key "${key}" is not allowed in a message`, {
        field: childPath,
      });
    }
    walk((value as Record<string, unknown>)[key], root, childPath, depth + 1, maxDepth);
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `a.b` for plain keys, `a["x.y"]` otherwise; long keys are cut so paths stay printable. */
export function joinPath(parent: string, key: string): string {
  if (IDENTIFIER.test(key) && key.length <= 64) return parent === '' ? key : `${parent}.${key}`;
  const shown = key.length > 64 ? `${key.slice(0, 64)}…` : key;
  return `${parent}[${JSON.stringify(shown)}]`;
}
