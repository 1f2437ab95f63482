// PATCH in its four content types. JSON patch, merge patch and strategic merge patch (built-ins only,
// 415 for custom resources as in Kubernetes) rewrite the current object; apply-patch+yaml is
// server-side apply, which also creates a missing object.
import { badRequest, isRecord, notFound, StatusError, unsupportedMediaType, type KubeObject } from '@kedge/kube-core';
import { mediaTypeOf, parseJsonBody, parseYamlBody, readBody } from '../http';
import { PatchError, applyJsonPatch, applyMergePatch, applyStrategicMergePatch, serverSideApply } from '../patch';
import { patchOptionsOf } from './query-options';
import { admission, namespaceOf, type ResourceRequest } from './request-context';
import { checkObjectShape, checkUnknownFields } from './request-objects';
import { sendObject } from './object-responses';

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
const STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json';
const APPLY_PATCH = 'application/apply-patch+yaml';

function toStatusError(error: unknown): unknown {
  if (!(error instanceof PatchError)) return error;
  const causes = error.conflicts.map((conflict) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${JSON.stringify(conflict.manager)}`,
    field: conflict.field,
  }));
  return new StatusError(error.status, error.reason, error.message, causes.length > 0 ? { causes } : undefined);
}

/** Runs a patch engine, turning its PatchError into the Status it asks for. */
function patched(apply: () => unknown): KubeObject {
  let result: unknown;
  try {
    result = apply();
  } catch (error) {
    throw toStatusError(error);
  }
  return checkObjectShape(result, 'the patched object');
}

function subresourceOf(context: ResourceRequest): '' | 'status' | 'ephemeralcontainers' {
  const subresource = context.path.subresource;
  if (subresource === undefined) return '';
  if (subresource === 'status' && context.type.subresources.includes('status')) return 'status';
  // kubectl debug sends a strategic merge patch of the whole pod here; only spec.ephemeralContainers is kept
  if (subresource === 'ephemeralcontainers' && context.type.subresources.includes('ephemeralcontainers')) return 'ephemeralcontainers';
  throw badRequest(`the subresource "${subresource}" of ${context.type.plural} cannot be patched`);
}

export async function handlePatch(context: ResourceRequest): Promise<void> {
  const { type, query } = context;
  const subresource = subresourceOf(context);
  const mediaType = mediaTypeOf(context.request.headers['content-type']);
  const supported = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH, ...(type.acceptsStrategicMerge ? [STRATEGIC_MERGE_PATCH] : [])];
  if (!supported.includes(mediaType)) throw unsupportedMediaType(mediaType, supported);
  const { dryRun, fieldManager, fieldValidation: validation, force } = patchOptionsOf(query, mediaType === APPLY_PATCH, context.request.headers['user-agent']);
  const raw = await readBody(context.request, context.services.maxRequestBodyBytes);
  const { store } = context.services;
  const namespace = namespaceOf(context);
  const name = context.path.name ?? '';

  if (mediaType === APPLY_PATCH) {
    const applied = checkObjectShape(parseYamlBody(raw), 'the apply configuration');
    checkUnknownFields(context, type, applied, validation);
    const options = { fieldManager, kind: type.kind, force: force ?? false };
    const existing = store.find(type, namespace, name);
    if (existing === undefined) {
      if (subresource !== '') throw notFound({ group: type.group, resource: type.plural }, name);
      const object = patched(() => serverSideApply(undefined, applied, options));
      if (object.metadata.name !== undefined && object.metadata.name !== name) {
        throw badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`);
      }
      object.metadata.name = name;
      sendObject(context, 201, store.create(type, namespace, object, { dryRun, fieldManager, managedFieldsSet: true, admit: admission(context) }));
      return;
    }
    const result = store.modify(type, namespace, name, (current) => patched(() => serverSideApply(current, applied, options)), {
      dryRun,
      fieldManager,
      subresource,
      managedFieldsSet: true,
      admit: admission(context),
    });
    sendObject(context, 200, result);
    return;
  }

  const document = parseJsonBody(raw);
  if (mediaType !== JSON_PATCH && !isRecord(document)) throw badRequest('a merge patch must be a JSON object');
  const mutate = (current: KubeObject): KubeObject => {
    const next = patched(() => {
      if (mediaType === JSON_PATCH) return applyJsonPatch(current, document);
      if (mediaType === MERGE_PATCH) return applyMergePatch(current, document);
      return applyStrategicMergePatch(current, document, { kind: type.kind });
    });
    checkUnknownFields(context, type, next, validation);
    return next;
  };
  sendObject(context, 200, store.modify(type, namespace, name, mutate, { dryRun, fieldManager, subresource, admit: admission(context) }));
}
