// Turning a request body into an object: size limit, content type, JSON/YAML syntax, the top-level
// shape Kubernetes' decoder insists on, and fieldValidation for fields the schema does not know.
import { badRequest, isRecord, unsupportedMediaType, type KubeObject } from '@kedge/kube-core';
import { PROTOBUF_MEDIA_TYPE, addWarning, mediaTypeOf, parseObjectBody, readBody } from '../http';
import type { ResourceType } from '../resources';
import type { FieldValidation } from './query-options';
import type { ResourceRequest } from './request-context';

const METADATA_STRING_FIELDS = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'];
const METADATA_MAP_FIELDS = ['labels', 'annotations'];
const METADATA_LIST_FIELDS = ['finalizers', 'ownerReferences', 'managedFields'];

/** Type errors the Go decoder would refuse with 400 before validation ever runs. */
export function checkObjectShape(value: unknown, what: string): KubeObject {
  if (!isRecord(value)) throw badRequest(`${what} must be a JSON object, not ${Array.isArray(value) ? 'an array' : typeof value}`);
  for (const field of ['apiVersion', 'kind']) {
    if (value[field] !== undefined && typeof value[field] !== 'string') {
      throw badRequest(`${what}: ${field} must be a string`);
    }
  }
  const metadata = value['metadata'] ?? {};
  if (!isRecord(metadata)) throw badRequest(`${what}: metadata must be an object (ObjectMeta)`);
  for (const field of METADATA_STRING_FIELDS) {
    if (metadata[field] !== undefined && metadata[field] !== null && typeof metadata[field] !== 'string') {
      throw badRequest(`${what}: metadata.${field} must be a string`);
    }
  }
  for (const field of METADATA_MAP_FIELDS) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isRecord(map) || Object.values(map).some((entry) => typeof entry !== 'string')) {
      throw badRequest(`${what}: metadata.${field} must be a map of strings`);
    }
  }
  for (const field of METADATA_LIST_FIELDS) {
    if (metadata[field] !== undefined && metadata[field] !== null && !Array.isArray(metadata[field])) {
      throw badRequest(`${what}: metadata.${field} must be a list`);
    }
  }
  // JSON null means "unset" to the Go decoder
  for (const [key, entry] of Object.entries(metadata)) if (entry === null) delete metadata[key];
  return { ...value, metadata } as KubeObject;
}

export async function readObjectBody(context: ResourceRequest): Promise<KubeObject> {
  // custom resources have no protobuf encoding: upstream answers 415 before reading the body
  if (context.type.definedBy !== undefined && mediaTypeOf(context.request.headers['content-type']) === PROTOBUF_MEDIA_TYPE) {
    throw unsupportedMediaType(PROTOBUF_MEDIA_TYPE, ['application/json', 'application/yaml'], `${context.type.plural}.${context.type.group} has no protobuf encoding`);
  }
  const body = await readBody(context.request, context.services.maxRequestBodyBytes);
  return checkObjectShape(parseObjectBody(body, context.request.headers['content-type']), 'the request body');
}

/** fieldValidation: Strict refuses unknown fields (400), Warn reports them in Warning headers, Ignore drops them. */
export function checkUnknownFields(context: ResourceRequest, type: ResourceType, object: KubeObject, mode: FieldValidation): void {
  if (mode === 'Ignore') return;
  const unknown = type.unknownFields(object);
  if (unknown.length === 0) return;
  if (mode === 'Strict') {
    throw badRequest(`strict decoding error: ${unknown.map((field) => `unknown field "${field}"`).join(', ')}`);
  }
  for (const field of unknown) addWarning(context.response, `unknown field "${field}"`);
}
