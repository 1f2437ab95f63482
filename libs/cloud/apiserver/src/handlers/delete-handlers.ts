// delete and deletecollection, with DeleteOptions from the body (kubectl) or the query (curl); a
// field given in the body wins. Decoding and validation are kube-core's, worded as upstream.
import { badRequest, effectiveGracePeriod, isRecord, parseDeleteOptionsQuery, validateDeleteOptions, type KubeObject } from '@kedge/kube-core';
import { PROTOBUF_MEDIA_TYPE, mediaTypeOf, parseJsonBody, parseProtobufBody, readBody, sendJson } from '../http';
import { apiVersionOf } from '../resources';
import type { DeleteOptions, PropagationPolicy } from '../registry';
import { parseSelectors } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { sendObject } from './object-responses';

/** A DeleteOptions body field of the wrong JSON type is a decoding error: 400, as upstream. */
function bodyField<T>(body: Record<string, unknown>, field: string, type: 'number' | 'string' | 'boolean'): T | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type || (type === 'number' && !Number.isInteger(value))) {
    throw badRequest(`DeleteOptions.${field}: expected ${type === 'number' ? 'an integer' : `a ${type}`}, got ${JSON.stringify(value).slice(0, 80)}`);
  }
  return value as T;
}

async function deleteOptionsOf(context: ResourceRequest): Promise<DeleteOptions> {
  const raw = await readBody(context.request, context.services.maxRequestBodyBytes);
  const empty = raw.length === 0 || raw.toString('utf8').trim() === '';
  // client-go's typed clients send DeleteOptions as protobuf (kubectl drain --disable-eviction)
  const protobuf = mediaTypeOf(context.request.headers['content-type']) === PROTOBUF_MEDIA_TYPE;
  const body = empty ? {} : protobuf ? parseProtobufBody(raw) : parseJsonBody(raw);
  if (!isRecord(body)) throw badRequest('the request body must be a DeleteOptions object');
  if (body['kind'] !== undefined && body['kind'] !== 'DeleteOptions') {
    throw badRequest(`the request body must be a DeleteOptions object, not ${String(body['kind'])}`);
  }
  return resolveDeleteOptions(body, parseDeleteOptionsQuery(context.query));
}

/**
 * DeleteOptions from a body (a DELETE's, or an Eviction's deleteOptions) and the query's, validated as
 * upstream; a field given in the body wins.
 */
export function resolveDeleteOptions(body: Record<string, unknown>, fromQuery: ReturnType<typeof parseDeleteOptionsQuery>): DeleteOptions {
  const bodyDryRun = body['dryRun'];
  if (bodyDryRun !== undefined && bodyDryRun !== null && !(Array.isArray(bodyDryRun) && bodyDryRun.every((value) => typeof value === 'string'))) {
    throw badRequest('DeleteOptions.dryRun: expected a list of strings');
  }
  const dryRunValues = [...fromQuery.dryRunValues, ...((bodyDryRun as string[] | null | undefined) ?? [])];
  const orphanDependents = bodyField<boolean>(body, 'orphanDependents', 'boolean') ?? fromQuery.orphanDependents;
  const requestedPolicy = bodyField<string>(body, 'propagationPolicy', 'string') ?? fromQuery.propagationPolicy;
  validateDeleteOptions({ propagationPolicy: requestedPolicy, orphanDependents, dryRunValues });

  const options: DeleteOptions = { dryRun: dryRunValues.length > 0 };
  const grace = effectiveGracePeriod(bodyField<number>(body, 'gracePeriodSeconds', 'number') ?? fromQuery.gracePeriodSeconds);
  if (grace !== undefined) options.gracePeriodSeconds = grace;
  const policy = (requestedPolicy as PropagationPolicy | undefined) ?? (orphanDependents === true ? 'Orphan' : undefined);
  if (policy !== undefined) options.propagationPolicy = policy;
  const preconditions = body['preconditions'];
  if (preconditions !== undefined && preconditions !== null) {
    if (!isRecord(preconditions)) throw badRequest('preconditions must be an object');
    options.preconditions = {};
    if (typeof preconditions['uid'] === 'string') options.preconditions.uid = preconditions['uid'];
    if (typeof preconditions['resourceVersion'] === 'string') options.preconditions.resourceVersion = preconditions['resourceVersion'];
  }
  return options;
}

export async function handleDelete(context: ResourceRequest): Promise<void> {
  if (context.path.subresource !== undefined) throw badRequest(`the subresource "${context.path.subresource}" cannot be deleted`);
  const options = await deleteOptionsOf(context);
  const result = context.services.store.delete(context.type, namespaceOf(context), context.path.name ?? '', options);
  sendObject(context, 200, result.object);
}

export async function handleDeleteCollection(context: ResourceRequest): Promise<void> {
  const options = await deleteOptionsOf(context);
  const selectors = parseSelectors(context.query, context.type);
  const { store } = context.services;
  const list = store.list(context.type, namespaceOf(context), { ...selectors, limit: 0 });
  const deleted: KubeObject[] = [];
  for (const object of list.items) {
    try {
      deleted.push(store.delete(context.type, object.metadata.namespace, object.metadata.name ?? '', options).object);
    } catch (error) {
      // an object deleted by someone else in the meantime is simply gone
      if (!(error instanceof Error && 'code' in error && (error as { code: unknown }).code === 404)) throw error;
    }
  }
  sendJson(context.response, 200, {
    kind: context.type.listKind,
    apiVersion: apiVersionOf(context.type),
    metadata: { resourceVersion: String(store.storage.currentRevision()) },
    items: deleted,
  });
}
