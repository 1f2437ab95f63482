// get, list and watch.
import { badRequest, type KubeObject, type WatchEvent } from '@kedge/kube-core';
import { WatchStream } from '../watch';
import { booleanParam, nonNegativeInteger, parseSelectors } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { sendList, sendObject, tableOf } from './object-responses';

export function handleGet(context: ResourceRequest): void {
  const object = context.services.store.get(context.type, namespaceOf(context), context.path.name ?? '');
  sendObject(context, 200, object);
}

export function handleList(context: ResourceRequest): void {
  const selectors = parseSelectors(context.query, context.type);
  const allowed = context.services.authorizer.objectFilter(context.user, context.attributes);
  const list = context.services.store.list(context.type, namespaceOf(context), {
    ...selectors,
    limit: nonNegativeInteger(context.query, 'limit') ?? 0,
    continueToken: context.query.get('continue') ?? undefined,
    resourceVersion: context.query.get('resourceVersion') ?? undefined,
    resourceVersionMatch: context.query.get('resourceVersionMatch') ?? undefined,
  });
  const items = allowed === undefined ? list.items : list.items.filter(allowed);
  sendList(context, items, list.resourceVersion, list.continueToken);
}

const WATCH_TIMEOUT_JITTER = 2;

export function handleWatch(context: ResourceRequest): void {
  const { services, query } = context;
  const selectors = parseSelectors(query, context.type);
  const resourceVersion = query.get('resourceVersion') ?? '';
  if (resourceVersion !== '' && !/^\d+$/.test(resourceVersion)) {
    throw badRequest(`resourceVersion: Invalid value: "${resourceVersion}": must be a non-negative integer`);
  }
  // a watch on one named object (the legacy /watch/<resource>/<name> form) is a watch with a name selector
  const fieldSelector = [...selectors.fieldSelector];
  if (context.path.name !== undefined) fieldSelector.push({ field: 'metadata.name', operator: 'equals', value: context.path.name });
  const requestedTimeout = nonNegativeInteger(query, 'timeoutSeconds');
  const timeoutSeconds =
    requestedTimeout ?? Math.floor(services.defaultWatchTimeoutSeconds * (1 + Math.random() * (WATCH_TIMEOUT_JITTER - 1)));
  const allowed = services.authorizer.objectFilter(context.user, context.attributes);
  const encode = (event: WatchEvent): unknown =>
    context.form.kind === 'table' ? tableOf(context, [event.object as KubeObject]) : event.object;
  const stream = new WatchStream(
    {
      type: context.type,
      namespace: namespaceOf(context),
      filter: { labelSelector: selectors.labelSelector, fieldSelector, ...(allowed === undefined ? {} : { allowed }) },
      resourceVersion,
      sendInitialEvents: booleanParam(query, 'sendInitialEvents'),
      allowBookmarks: booleanParam(query, 'allowWatchBookmarks') ?? false,
      timeoutSeconds,
      encode,
    },
    context.response,
    {
      storage: services.store.storage,
      bookmarkIntervalMs: services.bookmarkIntervalMs,
      maxBufferedBytes: 64 * 1024 * 1024,
      onError: (error) => services.logger.warn({ err: error, resource: context.type.plural }, 'watch stream error'),
    },
  );
  services.openWatches.add(stream);
  context.response.on('close', () => services.openWatches.delete(stream));
  stream.start();
}
