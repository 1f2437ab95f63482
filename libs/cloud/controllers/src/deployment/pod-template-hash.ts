// The pod-template-hash label: a stable short hash of a pod template, as upstream's
// ComputeHash (FNV-32a over the template, plus the collision count when set, encoded with the
// alphabet of rand.SafeEncodeString so it can never spell a word). Keys are sorted before hashing so
// the same template always gives the same hash, whatever order its JSON came in.
import type { PodTemplate } from '../objects';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${canonicalJson(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function podTemplateHash(template: PodTemplate | undefined, collisionCount?: number): string {
  const text = canonicalJson(template ?? {}) + (collisionCount === undefined ? '' : `/${collisionCount}`);
  return [...String(fnv32a(text))].map((digit) => SAFE_ALPHABET[Number(digit)] ?? 'b').join('');
}

/** The template without the pod-template-hash label: what "same template" means for a ReplicaSet. */
export function templateWithoutHash(template: PodTemplate | undefined): PodTemplate {
  const copy = JSON.parse(JSON.stringify(template ?? {})) as PodTemplate;
  if (copy.metadata?.labels !== undefined) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy;
}

export function sameTemplate(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  return canonicalJson(templateWithoutHash(a)) === canonicalJson(templateWithoutHash(b));
}
