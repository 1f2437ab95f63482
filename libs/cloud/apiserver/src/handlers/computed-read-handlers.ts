// get and list of computed kinds (metrics.k8s.io): objects come from the type's ComputedResource, are
// filtered by label and field selectors and by the authorizer's object filter, and go out as objects,
// lists or Tables like stored ones. No watch: metrics-server serves none either.
import { methodNotAllowed, notFound } from '@kedge/kube-core';
import { matchesQuery } from '../registry';
import { parseSelectors } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { sendList, sendObject } from './object-responses';

export function handleComputedRead(context: ResourceRequest): void {
  const { type, verb } = context;
  const computed = type.computed;
  if (computed === undefined || (verb !== 'get' && verb !== 'list')) throw methodNotAllowed(context.request.method ?? '', type.plural);
  if (verb === 'get') {
    const name = context.path.name ?? '';
    const object = computed.get(namespaceOf(context), name);
    if (object === undefined) throw notFound({ group: type.group, resource: type.plural }, name);
    sendObject(context, 200, object);
    return;
  }
  const selectors = parseSelectors(context.query, type);
  const allowed = context.services.authorizer.objectFilter(context.user, context.attributes);
  const items = computed.list(namespaceOf(context)).filter((object) => matchesQuery(type, object, selectors) && (allowed === undefined || allowed(object)));
  sendList(context, items, '', undefined);
}
