// Checks a down message (cloud → edge, group `resource`) completely before anything is written, so a
// bad message is refused with the field at fault and can never leave half an object in the store.
import { CLUSTER_SCOPED_NAMESPACE, Operation, ProtocolError, parseEdgeResource } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import { isRecord, type KubeObject } from '@kedge/kube-core';
import { BadMessageError } from './errors';
import { coreResourceByType } from './kube-object';

export type DownOperation = typeof Operation.Insert | typeof Operation.Update | typeof Operation.Delete;

export interface DownChange {
  operation: DownOperation;
  type: string;
  namespace: string;
  name: string;
  /** the cloud resourceVersion; optional on deletes only */
  resourceVersion: bigint | undefined;
  object: KubeObject;
  /** the object serialised once, as stored */
  value: string;
}

const DOWN_OPERATIONS: ReadonlySet<string> = new Set([Operation.Insert, Operation.Update, Operation.Delete]);
// SQLite integers are signed 64-bit; etcd revisions (hence Kubernetes resourceVersions) fit in that
const MAX_RESOURCE_VERSION = 2n ** 63n - 1n;
const DECIMAL = /^\d{1,19}$/;

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}

function parseResourceVersion(value: unknown, required: boolean): bigint | undefined {
  if (value === undefined || value === '') {
    if (required) throw new BadMessageError('header.resourceversion', 'is required on insert and update (the object\'s Kubernetes resourceVersion)');
    return undefined;
  }
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new BadMessageError('header.resourceversion', `must be a decimal string, got ${shown(value)}`);
  }
  const version = BigInt(value);
  if (version > MAX_RESOURCE_VERSION) throw new BadMessageError('header.resourceversion', `${value} is larger than 2^63-1`);
  return version;
}

function checkMetadata(object: Record<string, unknown>, type: string, namespace: string, name: string): KubeObject {
  const metadata = object['metadata'];
  if (!isRecord(metadata)) throw new BadMessageError('content.metadata', `must be an object, got ${shown(metadata)}`);
  if (metadata['name'] !== name) {
    throw new BadMessageError('content.metadata.name', `${shown(metadata['name'])} does not match the name "${name}" in route.resource`);
  }
  const objectNamespace = metadata['namespace'];
  if (namespace === CLUSTER_SCOPED_NAMESPACE) {
    if (objectNamespace !== undefined && objectNamespace !== '') {
      throw new BadMessageError('content.metadata.namespace', `${shown(objectNamespace)} is set, but route.resource names a cluster-scoped object ("null")`);
    }
  } else if (objectNamespace !== namespace) {
    throw new BadMessageError('content.metadata.namespace', `${shown(objectNamespace)} does not match the namespace "${namespace}" in route.resource`);
  }
  const kind = object['kind'];
  const expectedKind = coreResourceByType(type)?.kind;
  if (kind !== undefined && kind !== '' && expectedKind !== undefined && kind !== expectedKind) {
    throw new BadMessageError('content.kind', `${shown(kind)} is not a ${expectedKind}, which route.resource type "${type}" names`);
  }
  return object as KubeObject;
}

/**
 * Validates a down message and returns the change it carries.
 * @throws BadMessageError naming the field at fault (route.operation, route.resource,
 *   header.resourceversion, content, content.metadata[.name|.namespace], content.kind)
 */
export function parseDownMessage(message: Message): DownChange {
  const route: unknown = isRecord(message) ? message.route : undefined;
  const header: unknown = isRecord(message) ? message.header : undefined;
  if (!isRecord(route)) throw new BadMessageError('route', 'is missing');
  if (!isRecord(header)) throw new BadMessageError('header', 'is missing');
  const operation = route['operation'];
  if (typeof operation !== 'string' || !DOWN_OPERATIONS.has(operation)) {
    throw new BadMessageError('route.operation', `${shown(operation)} is not one of insert, update, delete`);
  }
  let type: string;
  let namespace: string;
  let name: string | undefined;
  try {
    ({ type, namespace, name } = parseEdgeResource(route['resource'] as string));
  } catch (error) {
    if (error instanceof ProtocolError) throw new BadMessageError('route.resource', error.message);
    throw error;
  }
  if (name === undefined) throw new BadMessageError('route.resource', `"${String(route['resource'])}" names no object: expected <namespace>/<type>/<name>`);
  const resourceVersion = parseResourceVersion(header['resourceversion'], operation !== Operation.Delete);
  const content: unknown = (message as { content?: unknown }).content;
  if (!isRecord(content)) throw new BadMessageError('content', `must be a Kubernetes object, got ${shown(content)}`);
  const object = checkMetadata(content, type, namespace, name);
  let value: string;
  try {
    value = JSON.stringify(object);
  } catch (error) {
    throw new BadMessageError('content', `is not serialisable as JSON (${(error as Error).message})`);
  }
  return { operation: operation as DownOperation, type, namespace, name, resourceVersion, object, value };
}
