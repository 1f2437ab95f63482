// Objects in storage: keys like etcd's, JSON values without resourceVersion (the revision is the
// resourceVersion), and the storage errors turned into the Status errors clients expect.
import { alreadyExists, badRequest, expired, notFound, staleObject, StatusError, type KubeObject } from '@kedge/kube-core';
import type { ResourceType } from '../resources';
import type { StoredObject } from '../storage';

export function objectKey(type: ResourceType, namespace: string | undefined, name: string): string {
  return type.namespaced ? `${type.storagePrefix}/${namespace ?? ''}/${name}` : `${type.storagePrefix}/${name}`;
}

/** All objects of a type, or those of one namespace. The trailing slash keeps `default` from matching `default-2`. */
export function objectPrefix(type: ResourceType, namespace: string | undefined): string {
  return type.namespaced && namespace !== undefined && namespace !== '' ? `${type.storagePrefix}/${namespace}/` : `${type.storagePrefix}/`;
}

export function encodeObject(type: ResourceType, object: KubeObject): string {
  const stored = type.fromWire(object);
  const { resourceVersion: _resourceVersion, ...metadata } = stored.metadata;
  return JSON.stringify({ ...stored, metadata });
}

/** An object encoded once for storage and for the reply to the write that stores it. */
export interface ServedEncoding {
  /** the stored JSON: as encodeObject gives it */
  stored: string;
  /** the served JSON at `revision`: as JSON.stringify(decodeObject(type, stored, revision)) gives it */
  served(revision: number): string;
}

/**
 * For types whose stored form is the served form (`storedAsServed`): the stored JSON, and the reply's
 * JSON made from the same text with `"resourceVersion"` appended to metadata (where decodeObject puts
 * it), so a create need not parse what it stored and encode it again. Top-level members are encoded
 * one by one in JSON.stringify's order and with its rules (members whose value encodes to nothing are left out).
 */
export function encodeServed(object: KubeObject): ServedEncoding {
  const { resourceVersion: _resourceVersion, ...metadata } = object.metadata;
  const metadataJson = JSON.stringify(metadata);
  let head = '{';
  let tail = '';
  let afterMetadata = false;
  let first = true;
  for (const key of Object.keys(object)) {
    const text = key === 'metadata' ? metadataJson : (JSON.stringify((object as Record<string, unknown>)[key]) as string | undefined);
    if (text === undefined) continue;
    const member = `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    if (key === 'metadata') {
      head += member;
      afterMetadata = true;
    } else if (afterMetadata) tail += member + text;
    else head += member + text;
  }
  if (!afterMetadata) {
    // no metadata member: encodeObject's spread adds it last
    head += `${first ? '' : ','}"metadata":`;
    tail = '';
  }
  tail += '}';
  return {
    stored: head + metadataJson + tail,
    served: (revision) => {
      const version = `"resourceVersion":"${revision}"}`;
      return head + (metadataJson === '{}' ? `{${version}` : `${metadataJson.slice(0, -1)},${version}`) + tail;
    },
  };
}

export function decodeObject(type: ResourceType, value: string, revision: number): KubeObject {
  const parsed = JSON.parse(value) as KubeObject;
  parsed.metadata = { ...parsed.metadata, resourceVersion: String(revision) };
  return type.toWire(parsed);
}

export function decodeStored(type: ResourceType, stored: StoredObject): KubeObject {
  return decodeObject(type, stored.value, stored.revision);
}

interface CodedError {
  code?: unknown;
}

function storageCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as CodedError).code;
  return typeof code === 'string' ? code : undefined;
}

/** A storage failure as the Status a client should see; errors that are not storage errors pass through. */
export function toStatusError(error: unknown, type: ResourceType, name: string): unknown {
  if (error instanceof StatusError) return error;
  const ref = { group: type.group, resource: type.plural };
  switch (storageCode(error)) {
    case 'KEY_EXISTS':
      return alreadyExists(ref, name);
    case 'KEY_NOT_FOUND':
      return notFound(ref, name);
    case 'REVISION_CONFLICT':
      return staleObject(ref, name);
    case 'REVISION_COMPACTED':
      return expired(`The resourceVersion for the provided list is too old.`);
    case 'REVISION_TOO_NEW':
      return new StatusError(504, 'Timeout', 'Too large resource version', { retryAfterSeconds: 1 });
    case 'STORAGE_CLOSED':
      return new StatusError(503, 'ServiceUnavailable', 'the API server is shutting down');
    case 'INVALID_ARGUMENT':
      // storage refuses keys and values no valid request produces (NUL characters, lone surrogates)
      return badRequest(error instanceof Error ? error.message : String(error));
    default:
      return error;
  }
}

export function isStorageCode(error: unknown, code: string): boolean {
  return storageCode(error) === code;
}
