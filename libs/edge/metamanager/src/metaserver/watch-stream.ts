// Watch over HTTP: newline-delimited `{type, object}` JSON on a chunked 200 response, as the
// Kubernetes API does. Resuming replays the local change log after the given resourceVersion (a
// local revision) and then streams live changes; a revision the log no longer covers gets an ERROR
// event with a 410 Expired Status, which makes informers list again.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@kedge/telemetry';
import { LocalRevisionCompactedError } from '../errors';
import type { CoreResource, KubeObject } from '../kube-object';
import { compileSelector, type ObjectSelector } from '../selectors';
import type { ChangeEvent } from '../store/change-feed';
import type { MetaStore } from '../store/meta-store';
import { integerParam } from './reads';
import { servedObject } from './served-object';
import { statusObject } from './status';
import { StatusError } from './status';
import { buildTable, parseIncludeObject } from './tables';

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
const TRUE_VALUES = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

export function isTrue(value: string | null): boolean {
  return value !== null && TRUE_VALUES.has(value);
}

/** Where the watch starts: `now` (synthetic ADDED for current objects) or after a local revision. */
function startOf(query: URLSearchParams): 'now' | number {
  if (isTrue(query.get('sendInitialEvents'))) return 'now';
  const version = query.get('resourceVersion');
  if (version === null || version === '' || version === '0') return 'now';
  if (!/^\d{1,15}$/.test(version)) {
    throw new StatusError('BadRequest', `resourceVersion: ${JSON.stringify(version.slice(0, 40))} is not a resourceVersion this MetaServer issued (they are local revisions, decimal integers)`);
  }
  return Number(version);
}

/**
 * Serves one watch until the client goes, timeoutSeconds passes, or `stops` is run (server close).
 * @throws StatusError (before anything is written) for bad parameters or selectors
 */
export function serveWatch(request: IncomingMessage, response: ServerResponse, watch: WatchRequest, stops: Set<() => Promise<void>>): void {
  const { store, resource, namespace, query } = watch;
  const matches = compileSelector(resource.type, watch.selector);
  const filtered = Boolean(watch.selector.labelSelector?.trim() || watch.selector.fieldSelector?.trim());
  const start = startOf(query);
  // like Kubernetes, 0 or absent means the server's default: no watch is open-ended
  const timeoutSeconds = integerParam(query, 'timeoutSeconds') || watch.defaultTimeoutSeconds;
  const includeObject = parseIncludeObject(query.get('includeObject'));

  response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  response.flushHeaders();

  let ended = false;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const closed = new Promise<void>((resolve) => response.once('close', resolve));
  const stop = (): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timeoutTimer);
    clearTimeout(bookmarkTimer);
    unsubscribe?.();
    stops.delete(stopForServerClose);
    response.end();
  };
  // for the server's close(): ends the watch and resolves once the final chunk is out (or the client left)
  const stopForServerClose = (): Promise<void> => {
    stop();
    return Promise.race([closed, new Promise<void>((resolve) => response.once('finish', resolve))]);
  };
  stops.add(stopForServerClose);
  response.on('close', stop);
  request.on('error', stop);

  const write = (type: string, object: unknown): void => {
    if (ended) return;
    response.write(`${JSON.stringify({ type, object })}\n`);
    if (response.writableLength > MAX_BUFFERED_BYTES) {
      watch.logger.warn({ resource: resource.plural }, 'ended a watch whose client stopped reading; it can resume from its last resourceVersion');
      stop();
    }
  };
  const writeObject = (type: string, object: KubeObject): void => {
    write(type, watch.table ? buildTable(resource, [object], { resourceVersion: object.metadata.resourceVersion }, includeObject) : object);
  };

  // Which objects this watcher holds, tracked only with a selector: an object that stops matching
  // must reach the client as DELETED, and one that starts matching as ADDED. A watch resumed from a
  // revision cannot know what matched back then, so it sends DELETED when unsure (harmless to a
  // client that did not have the object).
  const holds = new Map<string, boolean>();
  const exact = start === 'now';
  const onChange = (event: ChangeEvent): void => {
    const object = servedObject(event.object, resource);
    if (!filtered) {
      writeObject(event.type, object);
      return;
    }
    const key = `${event.object.namespace}/${event.object.name}`;
    const held = holds.get(key);
    const matching = matches(object);
    if (event.type === 'DELETED') {
      if (matching || held === true) writeObject('DELETED', object);
      holds.delete(key);
    } else if (matching) {
      writeObject(held === false || event.type === 'ADDED' ? 'ADDED' : 'MODIFIED', object);
      holds.set(key, true);
    } else {
      if (held === true || (held === undefined && !exact && event.type === 'MODIFIED')) writeObject('DELETED', object);
      holds.set(key, false);
    }
  };

  let after: number;
  if (start === 'now') {
    // synchronous from here to subscribe: no change can commit in between
    for (const stored of store.list(resource.type, namespace)) onChange({ type: 'ADDED', object: stored });
    after = store.localRevision;
    if (isTrue(query.get('sendInitialEvents'))) {
      write('BOOKMARK', bookmark(resource, store.localRevision, { 'k8s.io/initial-events-end': 'true' }));
    }
  } else {
    after = start;
  }
  try {
    unsubscribe = store.watch(resource.type, namespace, after, onChange);
  } catch (error) {
    if (!(error instanceof LocalRevisionCompactedError)) throw error;
    write('ERROR', statusObject('Expired', error.message));
    stop();
    return;
  }
  if (ended) {
    unsubscribe();
    return;
  }
  // setTimeout fires at once for delays beyond 2^31-1 ms, so longer timeouts are capped (~24 days)
  if (timeoutSeconds > 0) timeoutTimer = setTimeout(stop, Math.min(timeoutSeconds * 1000, 2 ** 31 - 1));
  if (isTrue(query.get('allowWatchBookmarks'))) {
    const sendBookmark = (): void => {
      // every change up to the current revision has been written already: publishing is synchronous
      write('BOOKMARK', bookmark(resource, store.localRevision));
      if (!ended) bookmarkTimer = setTimeout(sendBookmark, watch.bookmarkIntervalMs);
    };
    bookmarkTimer = setTimeout(sendBookmark, watch.bookmarkIntervalMs);
  }
}

/** A BOOKMARK's object: only kind and metadata.resourceVersion (plus annotations) carry meaning. */
function bookmark(resource: CoreResource, revision: number, annotations?: Record<string, string>): Record<string, unknown> {
  const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
  if (annotations) metadata['annotations'] = annotations;
  return { kind: resource.kind, apiVersion: 'v1', metadata };
}
