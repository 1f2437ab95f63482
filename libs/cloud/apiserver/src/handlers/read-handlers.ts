// get, list and watch.
import type { KubeObject, WatchEvent } from '@kedge/kube-core';
import { WatchStream } from '../watch';
import { listOptionsOf } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { sendList, sendObject, tableOf } from './object-responses';

export function handleGet(context: ResourceRequest): void {
  const object = context.services.store.get(context.type, namespaceOf(context), context.path.name ?? '');
  sendObject(context, 200, object);
}

export function handleList(context: ResourceRequest): void {
  const options = listOptionsOf(context.query, context.type, false);
  const allowed = context.services.authorizer.objectFilter(context.user, context.attributes);
  const list = context.services.store.list(context.type, namespaceOf(context), {
    ...options.selectors,
    // a negative limit is no limit, as upstream
    limit: Math.max(0, options.limit),
    continueToken: options.continue || undefined,
    resourceVersion: options.resourceVersion || undefined,
    resourceVersionMatch: options.resourceVersionMatch,
  });
  const items = allowed === undefined ? list.items : list.items.filter(allowed);
  sendList(context, items, list.resourceVersion, list.continueToken);
}

const WATCH_TIMEOUT_JITTER = 2;
// a negative timeoutSeconds ends the watch at once on kube-apiserver (its timer fires immediately)
const END_AT_ONCE_SECONDS = 0.001;

export function handleWatch(context: ResourceRequest): void {
  const { services, query } = context;
  const options = listOptionsOf(query, context.type, true);
  const { selectors, resourceVersion } = options;
  // a watch on one named object (the legacy /watch/<resource>/<name> form) is a watch with a name selector
  const fieldSelector = [...selectors.fieldSelector];
  if (context.path.name !== undefined) fieldSelector.push({ field: 'metadata.name', operator: 'equals', value: context.path.name });
  // 0 or absent is the server's default (jittered, so watches do not all end at once); a negative
  // timeout ends the watch at once, as kube-apiserver's timer would
  const requested = options.timeoutSeconds;
  const timeoutSeconds =
    requested === undefined || requested === 0
      ? Math.floor(services.defaultWatchTimeoutSeconds * (1 + Math.random() * (WATCH_TIMEOUT_JITTER - 1)))
      : Math.max(requested, END_AT_ONCE_SECONDS);
  const allowed = services.authorizer.objectFilter(context.user, context.attributes);
  const encode = (event: WatchEvent): unknown =>
    context.form.kind === 'table' ? tableOf(context, [event.object as KubeObject]) : event.object;
  const stream = new WatchStream(
    {
      type: context.type,
      namespace: namespaceOf(context),
      filter: { labelSelector: selectors.labelSelector, fieldSelector, ...(allowed === undefined ? {} : { allowed }) },
      resourceVersion,
      sendInitialEvents: options.sendInitialEvents,
      allowBookmarks: options.allowWatchBookmarks,
      timeoutSeconds,
      encode,
      plainJson: context.form.kind !== 'table',
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
