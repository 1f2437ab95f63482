// The server-owned parts of ObjectMeta: what create sets, what update may not change, and when a
// change counts as a new generation.
import { randomBytes, randomUUID } from 'node:crypto';
import { cloneJson, formatTimestamp, jsonEqual, type KubeObject } from '@kedge/kube-core';

const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `generateName` + 5 characters from apiserver's alphabet (no vowels, no look-alikes). */
export function generatedName(prefix: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const byte of bytes) suffix += GENERATE_NAME_ALPHABET[byte % GENERATE_NAME_ALPHABET.length];
  // a name may be at most 253 characters; apiserver trims the prefix to leave room for the suffix
  return prefix.slice(0, 253 - suffix.length) + suffix;
}

let formattedSecond = Number.NaN;
let formatted = '';

/** formatTimestamp, remembered for the current second: every write stamps one or two times, all in the same second */
export function timestampOf(now: Date): string {
  const second = Math.floor(now.getTime() / 1000);
  if (second !== formattedSecond) {
    formatted = formatTimestamp(now);
    formattedSecond = second;
  }
  return formatted;
}

export function initialiseMetadata(object: KubeObject, now: Date): void {
  const meta = object.metadata;
  meta.uid = randomUUID();
  meta.creationTimestamp = timestampOf(now);
  meta.generation = 1;
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta['selfLink'];
}

/** Fields of ObjectMeta an update cannot change; they are taken from the stored object. */
const IMMUTABLE_METADATA = ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const;

export function keepImmutableMetadata(next: KubeObject, previous: KubeObject): void {
  for (const field of IMMUTABLE_METADATA) {
    const value = previous.metadata[field];
    if (value === undefined) delete next.metadata[field];
    else (next.metadata as Record<string, unknown>)[field] = value;
  }
  delete next.metadata['selfLink'];
}

function withoutMetadataAndStatus(object: KubeObject): Record<string, unknown> {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return rest;
}

/** Spec-like changes bump metadata.generation; metadata and status changes do not. */
export function nextGeneration(next: KubeObject, previous: KubeObject): number {
  const generation = previous.metadata.generation ?? 1;
  return jsonEqual(withoutMetadataAndStatus(next), withoutMetadataAndStatus(previous)) ? generation : generation + 1;
}

/**
 * Whether an update changes nothing a client could observe (such updates are not written, as in
 * Kubernetes). managedFields count, but not their timestamps: re-applying the same configuration is a no-op.
 */
export function isNoOpUpdate(next: KubeObject, previous: KubeObject): boolean {
  const strip = (object: KubeObject): KubeObject => {
    const copy = cloneJson(object);
    delete copy.metadata.resourceVersion;
    copy.metadata.managedFields = (copy.metadata.managedFields ?? []).map(({ time: _time, ...entry }) => entry);
    return copy;
  };
  return jsonEqual(strip(next), strip(previous));
}
