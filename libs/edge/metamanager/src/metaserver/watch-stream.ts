// Watch over HTTP from the local change log. Resuming replays the log after the given resourceVersion
// (a local revision) and then streams live changes; a revision the log no longer covers gets an ERROR
// event with a 410 Expired Status, which makes informers list again. The wire format (events,
// bookmarks, timeout, slow-client cut-off) is kube-core's WatchStreamWriter.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StatusError, WatchStreamWriter, bookmarkObject, parseListOptions, selectedEventType, tooOldResourceVersion, type KubeObject, type ListOptions } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import { LocalRevisionCompactedError } from '../errors';
import type { CoreResource } from '../kube-object';
import { compileSelector, type ObjectSelector } from '../selectors';
import type { ChangeEvent } from '../store/change-feed';
import type { MetaStore } from '../store/meta-store';
import { includeObjectOf, tableOf } from './reads';
import { servedObject } from './served-object';

export interface WatchRequest {
  store: MetaStore;
  resource: CoreResource;
  namespace: string | undefined;
  selector: ObjectSelector;
  query: URLSearchParams;
  table: boolean;
  logger: Logger;
  defaultTimeoutSeconds: number;
  bookmarkIntervalMs: number;
}

// a client that stops reading must not make the edge buffer without bound: end its watch, and it
// resumes from the last resourceVersion it saw, replayed from the log on disk
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * Where the watch starts: `now` (synthetic ADDED for current objects), `current` (no initial events:
 * `sendInitialEvents=false` without a resourceVersion) or after a local revision.
 */
function startOf(options: ListOptions): 'now' | 'current' | number {
  if (options.sendInitialEvents === true) return 'now';
  const version = options.resourceVersion;
  if (version === '' || version === '0') return options.sendInitialEvents === false ? 'current' : 'now';
  return Number(version);
}

/** The 410 for a revision the change log cannot resume from (compacted, or newer than a replaced database). */
function expiredStatus(error: LocalRevisionCompactedError): StatusError {
  if (error.requested < error.oldestResumable) return tooOldResourceVersion(error.requested, error.oldestResumable);
  return new StatusError(410, 'Expired', error.message);
}

/**
 * Serves one watch until the client goes, timeoutSeconds passes, or `stops` is run (server close).
 * @throws StatusError (before anything is written) for bad parameters; InvalidSelectorError for bad selectors
 */
export function serveWatch(request: IncomingMessage, response: ServerResponse, watch: WatchRequest, stops: Set<() => Promise<void>>): void {
  const { store, resource, namespace, query } = watch;
  const matches = compileSelector(resource.type, watch.selector);
  const filtered = Boolean(watch.selector.labelSelector?.trim() || watch.selector.fieldSelector?.trim());
  // decoded and validated as kube-apiserver does: 400 for a value that is not one, 422 for a
  // combination it forbids (sendInitialEvents needs resourceVersionMatch=NotOlderThan)
  const options = parseListOptions(query, true);
  const start = startOf(options);
  // like Kubernetes, 0 or absent means the server's default: no watch is open-ended; a negative
  // timeout ends the watch at once
  const timeoutSeconds = options.timeoutSeconds === undefined || options.timeoutSeconds === 0 ? watch.defaultTimeoutSeconds : Math.max(options.timeoutSeconds, 0.001);
  const includeObject = watch.table ? includeObjectOf(query) : undefined;
  const encode = (object: KubeObject): unknown =>
    includeObject === undefined ? object : tableOf(resource, [object], { resourceVersion: object.metadata.resourceVersion }, includeObject);

  const writer = new WatchStreamWriter(response, {
    timeoutSeconds,
    // every change up to the current revision has been written already: publishing is synchronous
    bookmarks: options.allowWatchBookmarks
      ? { intervalMs: watch.bookmarkIntervalMs, object: () => bookmarkObject(resource.kind, 'v1', String(store.localRevision)) }
      : undefined,
    maxBufferedBytes: MAX_BUFFERED_BYTES,
    onOverflow: () => watch.logger.warn({ resource: resource.plural }, 'ended a watch whose client stopped reading; it can resume from its last resourceVersion'),
  });
  // for the server's close(): ends the watch and resolves once the final chunk is out (or the client left)
  const stopForServerClose = (): Promise<void> => {
    writer.close();
    return writer.finished;
  };
  stops.add(stopForServerClose);
  writer.onClose(() => stops.delete(stopForServerClose));
  request.on('error', () => writer.close());
  writer.open();

  // Which objects this watcher holds, tracked only with a selector: an object that stops matching
  // must reach the client as DELETED, and one that starts matching as ADDED. A watch resumed from a
  // revision cannot know what matched back then, so it sends DELETED when unsure (harmless to a
  // client that did not have the object).
  const holds = new Map<string, boolean>();
  const exact = start === 'now';
  const onChange = (event: ChangeEvent): void => {
    const object = servedObject(event.object, resource);
    if (!filtered) {
      writer.send(event.type, encode(object));
      return;
    }
    const key = `${event.object.namespace}/${event.object.name}`;
    const nowMatches = matches(object);
    const usedToMatch = holds.get(key) ?? (event.type === 'MODIFIED' && !exact);
    const type = selectedEventType(event.type, usedToMatch, nowMatches);
    if (type !== undefined) writer.send(type, encode(object));
    if (event.type === 'DELETED') holds.delete(key);
    else holds.set(key, nowMatches);
  };

  let after: number;
  if (start === 'now') {
    // synchronous from here to subscribe: no change can commit in between
    for (const stored of store.list(resource.type, namespace)) onChange({ type: 'ADDED', object: stored });
    after = store.localRevision;
    // the end of the initial events, for watch-list clients (sent only to those that take bookmarks, as upstream)
    if (options.sendInitialEvents === true && options.allowWatchBookmarks) writer.send('BOOKMARK', bookmarkObject(resource.kind, 'v1', String(after), true));
  } else {
    after = start === 'current' ? store.localRevision : start;
  }
  if (writer.closed) return;
  try {
    const unsubscribe = store.watch(resource.type, namespace, after, onChange);
    writer.onClose(unsubscribe);
  } catch (error) {
    if (!(error instanceof LocalRevisionCompactedError)) throw error;
    writer.sendError(expiredStatus(error).toStatus());
  }
}
