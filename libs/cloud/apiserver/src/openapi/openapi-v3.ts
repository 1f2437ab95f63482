// OpenAPI v3 documents, one per group/version, as kube-apiserver serves them under /openapi/v3.
// kubectl reads them to learn that PATCH takes `fieldValidation` (then it leaves validation to the
// server) and, for custom resources, for `kubectl explain`. Built-in kinds get paths but no schemas:
// without a schema carrying patch strategies kubectl falls back to its compiled-in types, which have them.
import { createHash } from 'node:crypto';
import { apiVersionOf, groupVersionKey, type ResourceCatalog, type ResourceType } from '../resources';

type Json = Record<string, unknown>;

const queryParameter = (name: string, description: string, type = 'string'): Json => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});

const DRY_RUN = queryParameter('dryRun', 'When present, indicates that modifications should not be persisted. Valid value: All');
const FIELD_MANAGER = queryParameter('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.');
const FIELD_VALIDATION = queryParameter(
  'fieldValidation',
  'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values: Ignore, Warn, Strict',
);
const FORCE = queryParameter('force', 'Force is going to "force" Apply requests.', 'boolean');
const LIST_PARAMETERS = ['labelSelector', 'fieldSelector', 'limit', 'continue', 'resourceVersion', 'resourceVersionMatch', 'timeoutSeconds', 'watch', 'allowWatchBookmarks', 'sendInitialEvents'].map(
  (name) => queryParameter(name, name, name === 'limit' || name === 'timeoutSeconds' ? 'integer' : name === 'watch' || name === 'allowWatchBookmarks' || name === 'sendInitialEvents' ? 'boolean' : 'string'),
);
const PATH_NAME: Json = { name: 'name', in: 'path', required: true, description: 'name of the object', schema: { type: 'string', uniqueItems: true } };
const PATH_NAMESPACE: Json = { name: 'namespace', in: 'path', required: true, description: 'object name and auth scope', schema: { type: 'string', uniqueItems: true } };

function schemaName(type: ResourceType): string {
  const reversed = type.group === '' ? 'io.k8s.api.core' : type.group.split('.').reverse().join('.');
  return `${reversed}.${type.version}.${type.kind}`;
}

function jsonResponse(schema: Json): Json {
  return { '200': { description: 'OK', content: { 'application/json': { schema } } }, '401': { description: 'Unauthorized' } };
}

function operation(type: ResourceType, action: string, verb: string, parameters: Json[], schema: Json, body?: string[]): Json {
  const op: Json = {
    tags: [groupVersionKey(type.group, type.version)],
    description: `${action} ${type.kind}`,
    operationId: `${verb}${type.kind}`,
    parameters,
    responses: jsonResponse(schema),
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
  };
  if (body !== undefined) {
    op['requestBody'] = { content: Object.fromEntries(body.map((mediaType) => [mediaType, { schema }])), required: true };
  }
  return op;
}

function pathsOf(type: ResourceType, objectSchema: Json): Record<string, Json> {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const collection = type.namespaced ? `${base}/namespaces/{namespace}/${type.plural}` : `${base}/${type.plural}`;
  const scope = type.namespaced ? [PATH_NAMESPACE] : [];
  const patchTypes = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
  if (type.acceptsStrategicMerge) patchTypes.push('application/strategic-merge-patch+json');
  const listSchema: Json = { type: 'object' };
  const writeParameters = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const paths: Record<string, Json> = {
    [collection]: {
      get: operation(type, 'list', 'list', LIST_PARAMETERS, listSchema),
      post: operation(type, 'post', 'create', writeParameters, objectSchema, ['application/json', 'application/yaml']),
      delete: operation(type, 'deletecollection', 'deleteCollection', [...LIST_PARAMETERS, DRY_RUN], listSchema),
      parameters: scope,
    },
    [`${collection}/{name}`]: {
      get: operation(type, 'get', 'read', [], objectSchema),
      put: operation(type, 'put', 'replace', writeParameters, objectSchema, ['application/json', 'application/yaml']),
      patch: operation(type, 'patch', 'patch', [...writeParameters, FORCE], objectSchema, patchTypes),
      delete: operation(type, 'delete', 'delete', [DRY_RUN, queryParameter('gracePeriodSeconds', 'grace period', 'integer'), queryParameter('propagationPolicy', 'propagation policy')], objectSchema),
      parameters: [PATH_NAME, ...scope],
    },
  };
  if (type.namespaced) paths[`${base}/${type.plural}`] = { get: operation(type, 'list', 'listAllNamespaces', LIST_PARAMETERS, listSchema) };
  if (type.subresources.includes('status')) {
    paths[`${collection}/{name}/status`] = {
      get: operation(type, 'get', 'readStatus', [], objectSchema),
      put: operation(type, 'put', 'replaceStatus', writeParameters, objectSchema, ['application/json']),
      patch: operation(type, 'patch', 'patchStatus', [...writeParameters, FORCE], objectSchema, patchTypes),
      parameters: [PATH_NAME, ...scope],
    };
  }
  if (type.subresources.includes('ephemeralcontainers')) {
    paths[`${collection}/{name}/ephemeralcontainers`] = {
      get: operation(type, 'get', 'readEphemeralcontainers', [], objectSchema),
      put: operation(type, 'put', 'replaceEphemeralcontainers', writeParameters, objectSchema, ['application/json']),
      patch: operation(type, 'patch', 'patchEphemeralcontainers', writeParameters, objectSchema, patchTypes.filter((patchType) => patchType !== 'application/apply-patch+yaml')),
      parameters: [PATH_NAME, ...scope],
    };
  }
  if (type.subresources.includes('scale')) {
    const scaleSchema: Json = { type: 'object' };
    const scalePatchTypes = patchTypes.filter((patchType) => patchType !== 'application/apply-patch+yaml');
    // the scale subresource speaks autoscaling/v1 Scale, whatever the parent's group
    const scaleOperation = (op: Json): Json => ({ ...op, 'x-kubernetes-group-version-kind': { group: 'autoscaling', version: 'v1', kind: 'Scale' } });
    paths[`${collection}/{name}/scale`] = {
      get: scaleOperation(operation(type, 'get', 'readScale', [], scaleSchema)),
      put: scaleOperation(operation(type, 'put', 'replaceScale', writeParameters, scaleSchema, ['application/json', 'application/yaml'])),
      patch: scaleOperation(operation(type, 'patch', 'patchScale', writeParameters, scaleSchema, scalePatchTypes)),
      parameters: [PATH_NAME, ...scope],
    };
  }
  if (type.subresources.includes('binding')) {
    const bindingOperation = (op: Json): Json => ({ ...op, 'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'Binding' } });
    paths[`${collection}/{name}/binding`] = {
      post: bindingOperation(operation(type, 'post', 'createBinding', [DRY_RUN, FIELD_MANAGER], { type: 'object' }, ['application/json', 'application/yaml'])),
      parameters: [PATH_NAME, ...scope],
    };
  }
  if (type.subresources.includes('eviction')) {
    const evictionOperation = (op: Json): Json => ({ ...op, 'x-kubernetes-group-version-kind': { group: 'policy', version: 'v1', kind: 'Eviction' } });
    paths[`${collection}/{name}/eviction`] = {
      post: evictionOperation(operation(type, 'post', 'createEviction', [DRY_RUN, FIELD_MANAGER], { type: 'object' }, ['application/json', 'application/yaml'])),
      parameters: [PATH_NAME, ...scope],
    };
  }
  return paths;
}

/** The schema component of a custom resource: its openAPIV3Schema with metadata and the GVK extension. */
function customResourceSchema(type: ResourceType): Json | undefined {
  if (type.openApiSchema === undefined) return undefined;
  const properties = (type.openApiSchema['properties'] as Json | undefined) ?? {};
  return {
    ...type.openApiSchema,
    type: 'object',
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object', description: "Standard object's metadata." },
      ...properties,
    },
    'x-kubernetes-group-version-kind': [{ group: type.group, version: type.version, kind: type.kind }],
  };
}

export function openApiV3Document(catalog: ResourceCatalog, group: string, version: string, serverVersion: string): Json | undefined {
  const types = catalog.resourcesOf(group, version);
  if (types.length === 0) return undefined;
  const schemas: Json = {};
  let paths: Record<string, Json> = {};
  for (const type of types) {
    const component = customResourceSchema(type);
    let objectSchema: Json = { type: 'object', description: `${type.kind} (${apiVersionOf(type)})` };
    if (component !== undefined) {
      schemas[schemaName(type)] = component;
      objectSchema = { $ref: `#/components/schemas/${schemaName(type)}` };
    }
    paths = { ...paths, ...pathsOf(type, objectSchema) };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: serverVersion }, paths, components: { schemas } };
}

export function documentHash(document: unknown): string {
  return createHash('sha512').update(JSON.stringify(document)).digest('hex').toUpperCase();
}

/** /openapi/v3: where each group/version's document is, with a hash so clients can cache it. */
export function openApiV3Root(catalog: ResourceCatalog, hashOf: (group: string, version: string) => string): Json {
  const paths: Record<string, Json> = {};
  for (const { group, versions } of catalog.groups()) {
    for (const version of versions) {
      const path = group === '' ? `api/${version}` : `apis/${group}/${version}`;
      paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(group, version)}` };
    }
  }
  return { paths };
}
