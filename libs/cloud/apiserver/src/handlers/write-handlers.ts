// create (POST) and update (PUT), including the status and pods' ephemeralcontainers subresources.
import { badRequest } from '@kedge/kube-core';
import { writeOptionsOf } from './query-options';
import { admission, namespaceOf, type ResourceRequest } from './request-context';
import { checkUnknownFields, readObjectBody } from './request-objects';
import { sendObject, sendReply } from './object-responses';
import { admitServiceAccount } from './service-account-admission';

function statusOrMain(context: ResourceRequest): '' | 'status' | 'ephemeralcontainers' {
  const subresource = context.path.subresource;
  if (subresource === undefined) return '';
  if (subresource === 'status' && context.type.subresources.includes('status')) return 'status';
  if (subresource === 'ephemeralcontainers' && context.type.subresources.includes('ephemeralcontainers')) return 'ephemeralcontainers';
  throw badRequest(`the subresource "${subresource}" of ${context.type.plural} cannot be written`);
}

export async function handleCreate(context: ResourceRequest): Promise<void> {
  const { dryRun, fieldManager, fieldValidation: validation } = writeOptionsOf(context.query, 'CreateOptions', context.request.headers['user-agent']);
  const body = await readObjectBody(context);
  checkUnknownFields(context, context.type, body, validation);
  if (context.type.group === '' && context.type.plural === 'pods') {
    const namespace = namespaceOf(context) ?? (typeof body.metadata?.namespace === 'string' ? body.metadata.namespace : undefined);
    admitServiceAccount(body, namespace, context.services.store, context.services.catalog.find('', 'v1', 'serviceaccounts'));
  }
  // the body was parsed for this request alone: the store takes it over rather than copying it
  const created = context.services.store.createForReply(context.type, namespaceOf(context), body, { dryRun, fieldManager, admit: admission(context), bodyOwned: true });
  sendReply(context, 201, created);
}

export async function handleUpdate(context: ResourceRequest): Promise<void> {
  const subresource = statusOrMain(context);
  const { dryRun, fieldManager, fieldValidation: validation } = writeOptionsOf(context.query, 'UpdateOptions', context.request.headers['user-agent']);
  const body = await readObjectBody(context);
  checkUnknownFields(context, context.type, body, validation);
  const name = context.path.name ?? '';
  const result = context.services.store.update(context.type, namespaceOf(context), name, body, { dryRun, fieldManager, subresource, admit: admission(context) });
  sendObject(context, result.created ? 201 : 200, result.object);
}
