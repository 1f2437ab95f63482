// delete and deletecollection, with DeleteOptions from the body (kubectl) or the query (curl).
import { badRequest, isRecord, type KubeObject } from '@kedge/kube-core';
import { sendJson, readBody, parseJsonBody } from '../http';
import { apiVersionOf } from '../resources';
import type { DeleteOptions, PropagationPolicy } from '../registry';
import { booleanParam, dryRunParam, nonNegativeInteger, parseSelectors } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { sendObject } from './object-responses';

const POLICIES = new Set<PropagationPolicy>(['Background', 'Foreground', 'Orphan']);

function policyOf(value: unknown): PropagationPolicy | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && POLICIES.has(value as PropagationPolicy)) return value as PropagationPolicy;
  throw badRequest(`propagationPolicy: Unsupported value: ${JSON.stringify(value)}: supported values: "Background", "Foreground", "Orphan"`);
}

function graceOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest(`gracePeriodSeconds: Invalid value: ${JSON.stringify(value)}: must be a non-negative integer`);
  }
  return value;
}

async function deleteOptionsOf(context: ResourceRequest): Promise<DeleteOptions> {
  const raw = await readBody(context.request, context.services.maxRequestBodyBytes);
  const body: Record<string, unknown> = raw.length === 0 || raw.toString('utf8').trim() === '' ? {} : (parseJsonBody(raw) as Record<string, unknown>);
  if (!isRecord(body)) throw badRequest('the request body must be a DeleteOptions object');
  if (body['kind'] !== undefined && body['kind'] !== 'DeleteOptions') {
    throw badRequest(`the request body must be a DeleteOptions object, not ${String(body['kind'])}`);
  }
  const options: DeleteOptions = {};
  const grace = graceOf(body['gracePeriodSeconds']) ?? nonNegativeInteger(context.query, 'gracePeriodSeconds');
  if (grace !== undefined) options.gracePeriodSeconds = grace;
  const orphan = typeof body['orphanDependents'] === 'boolean' ? body['orphanDependents'] : booleanParam(context.query, 'orphanDependents');
  const policy = policyOf(body['propagationPolicy']) ?? policyOf(context.query.get('propagationPolicy')) ?? (orphan === true ? 'Orphan' : undefined);
  if (policy !== undefined) options.propagationPolicy = policy;
  const preconditions = body['preconditions'];
  if (preconditions !== undefined && preconditions !== null) {
    if (!isRecord(preconditions)) throw badRequest('preconditions must be an object');
    options.preconditions = {};
    if (typeof preconditions['uid'] === 'string') options.preconditions.uid = preconditions['uid'];
    if (typeof preconditions['resourceVersion'] === 'string') options.preconditions.resourceVersion = preconditions['resourceVersion'];
  }
  const bodyDryRun = body['dryRun'];
  if (Array.isArray(bodyDryRun) && bodyDryRun.some((value) => value !== 'All')) throw badRequest('Invalid dryRun value; the only supported value is All');
  options.dryRun = dryRunParam(context.query) || (Array.isArray(bodyDryRun) && bodyDryRun.length > 0);
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
