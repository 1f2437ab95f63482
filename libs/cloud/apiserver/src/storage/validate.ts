// Argument checks shared by the storage calls. Keys are compared as UTF-8 bytes by SQLite, so a key must
// survive the round trip to UTF-8 unchanged and must not contain the character used as the prefix range's
// upper bound; otherwise the SQL prefix range and JavaScript's startsWith could disagree.
import { InvalidStorageArgumentError } from './errors';

/** U+10FFFF, a Unicode noncharacter that sorts after every other code point in UTF-8 byte order. */
export const PREFIX_RANGE_END = '\u{10FFFF}';

// with the `u` flag a surrogate pair is one code point, so this matches only lone (unencodable) surrogates
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function checkText(text: unknown, what: string, allowEmpty: boolean): string {
  if (typeof text !== 'string') throw new InvalidStorageArgumentError('', `${what} must be a string, got ${typeof text}`);
  if (!allowEmpty && text === '') throw new InvalidStorageArgumentError(text, `${what} must not be empty`);
  if (LONE_SURROGATE.test(text) || text.includes(PREFIX_RANGE_END) || text.includes('\0')) {
    throw new InvalidStorageArgumentError(
      text,
      `${what} ${JSON.stringify(text)} contains a NUL, a lone surrogate or U+10FFFF; use printable characters`,
    );
  }
  return text;
}

export function checkKey(key: unknown): string {
  return checkText(key, 'key', false);
}

/** a prefix may be empty (everything) */
export function checkPrefix(prefix: unknown): string {
  return checkText(prefix, 'prefix', true);
}

export function checkValue(key: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new InvalidStorageArgumentError(key, `value for ${key} must be the object's JSON text, got ${typeof value}`);
  }
  // SQLite stores UTF-8, where a lone surrogate would silently become U+FFFD; JSON.stringify escapes them
  if (LONE_SURROGATE.test(value)) {
    throw new InvalidStorageArgumentError(key, `value for ${key} contains a lone surrogate; serialize it with JSON.stringify`);
  }
  return value;
}

/** a non-negative safe integer (revisions, limits, revision counts) */
export function checkCount(key: string, what: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidStorageArgumentError(key, `${what} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}
