// Dispatches a resolved resource request to its verb handler.
import { badRequest, methodNotAllowed, pathNotFound } from '@kedge/kube-core';
import type { ResourceRequest } from './request-context';
import { handleGet, handleList, handleWatch } from './read-handlers';
import { handleCreate, handleUpdate } from './write-handlers';
import { handlePatch } from './patch-handler';
import { handleDelete, handleDeleteCollection } from './delete-handlers';
import { handleNodeProxy, handlePodConnectWithoutUpgrade, handlePodLog } from './kubelet-requests';
import { handleReview } from './review-handlers';
import { handleTokenRequest } from './token-request-handler';
import { handleScale } from './scale-handler';
import { handlePodBinding } from './pod-binding-handler';
import { handlePodEviction } from './pod-eviction-handler';
import { handleComputedRead } from './computed-read-handlers';

export async function handleResourceRequest(context: ResourceRequest): Promise<void> {
  const { verb, type, path } = context;
  if (path.subresource !== undefined && !type.subresources.includes(path.subresource as never)) {
    throw pathNotFound(context.request.url ?? '');
  }
  if (!type.verbs.includes(verb as never) && verb !== 'connect' && !(verb === 'get' && path.subresource === 'log')) {
    throw methodNotAllowed(context.request.method ?? '', type.plural);
  }
  if (type.namespaced && path.namespace === undefined && verb !== 'list' && verb !== 'watch') {
    // cluster-wide paths of namespaced types only list and watch
    throw pathNotFound(context.request.url ?? '');
  }
  if (!type.namespaced && path.namespace !== undefined && type.plural !== 'namespaces') throw pathNotFound(context.request.url ?? '');
  if (path.subresource === 'token' && verb !== 'create') throw methodNotAllowed(context.request.method ?? '', `${type.plural}/token`);
  if (path.subresource === 'binding' && verb !== 'create') throw methodNotAllowed(context.request.method ?? '', `${type.plural}/binding`);
  if (path.subresource === 'eviction' && verb !== 'create') throw methodNotAllowed(context.request.method ?? '', `${type.plural}/eviction`);
  if (type.ephemeral === true) return handleReview(context);
  if (type.computed !== undefined) return handleComputedRead(context);
  if (path.subresource === 'proxy') return handleNodeProxy(context);
  if (path.subresource === 'scale' && (verb === 'get' || verb === 'update' || verb === 'patch')) return handleScale(context);
  switch (verb) {
    case 'get':
      if (path.subresource === 'log') return handlePodLog(context);
      return handleGet(context);
    case 'list':
      return handleList(context);
    case 'watch':
      return handleWatch(context);
    case 'create':
      if (path.subresource === 'token') return handleTokenRequest(context);
      if (path.subresource === 'binding') return handlePodBinding(context);
      if (path.subresource === 'eviction') return handlePodEviction(context);
      return handleCreate(context);
    case 'update':
      return handleUpdate(context);
    case 'patch':
      return handlePatch(context);
    case 'delete':
      return handleDelete(context);
    case 'deletecollection':
      return handleDeleteCollection(context);
    case 'connect':
      return handlePodConnectWithoutUpgrade(context);
    default:
      throw badRequest(`unsupported verb ${String(verb)}`);
  }
}
