// One watch connection: newline-delimited JSON events on a chunked HTTP response, replayed from
// storage after the requested resourceVersion, then live. A resourceVersion older than the compacted
// history gets the ERROR event with a 410 Expired Status that makes informers re-list, as in Kubernetes.
import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../meta';
import { ApiError, expired, internalError } from '../errors';
import { apiVersionOf, type ResourceType } from '../resources';
import { isStorageCode, objectPrefix } from '../registry';
import type { ObjectStorage, WatchHandle } from '../storage';
import { toWatchEvent, type WatchEvent, type WatchFilter } from './watch-events';

export interface WatchRequest {
  type: ResourceType;
  namespace: string | undefined;
  filter: WatchFilter;
  /** '' or '0': start with the current state as ADDED events; a number: replay after it */
  resourceVersion: string;
  sendInitialEvents: boolean | undefined;
  allowBookmarks: boolean;
  timeoutSeconds: number;
  /** turns an event's object into what goes on the wire (the object itself, or a Table) */
  encode: (event: WatchEvent) => unknown;
}

export interface WatchSettings {
  storage: ObjectStorage;
  bookmarkIntervalMs: number;
  /** a watcher this far behind (bytes buffered) is cut off; it re-lists and watches again */
  maxBufferedBytes: number;
  onError: (error: unknown) => void;
}

const INITIAL_EVENTS_END_ANNOTATION = 'k8s.io/initial-events-end';

export class WatchStream {
  private handle: WatchHandle | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(
    private readonly request: WatchRequest,
    private readonly response: ServerResponse,
    private readonly settings: WatchSettings,
  ) {}

  start(): void {
    const { request, response, settings } = this;
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    response.on('close', () => this.close());
    const prefix = objectPrefix(request.type, request.namespace);
    const fromRevision = request.resourceVersion === '' || request.resourceVersion === '0' ? undefined : Number(request.resourceVersion);
    const initialState = request.sendInitialEvents ?? fromRevision === undefined;
    const current = settings.storage.currentRevision();
    if (fromRevision !== undefined && !initialState && fromRevision > current) {
      // what kube-apiserver's watch cache answers; client-go re-lists on it
      this.sendError(
        new ApiError(504, 'Timeout', `Too large resource version: ${fromRevision}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        }),
      );
      this.close();
      return;
    }
    try {
      let after: number;
      if (initialState) {
        after = this.sendInitialState(prefix);
      } else {
        after = fromRevision ?? settings.storage.currentRevision();
      }
      this.handle = settings.storage.watch(prefix, after, (event) => {
        if (this.closed) return;
        try {
          const watchEvent = toWatchEvent(request.type, event, request.filter);
          if (watchEvent !== undefined) this.send(watchEvent);
        } catch (error) {
          settings.onError(error);
        }
      });
    } catch (error) {
      if (isStorageCode(error, 'REVISION_COMPACTED')) {
        const compacted = settings.storage.compactedRevision();
        this.sendError(expired(`too old resource version: ${request.resourceVersion} (${compacted})`));
      } else {
        settings.onError(error);
        this.sendError(internalError(`watch could not start: ${error instanceof Error ? error.message : String(error)}`));
      }
      this.close();
      return;
    }
    if (request.allowBookmarks) {
      this.timers.push(setInterval(() => this.sendBookmark(false), settings.bookmarkIntervalMs).unref());
    }
    if (request.timeoutSeconds > 0) {
      this.timers.push(setTimeout(() => this.close(), request.timeoutSeconds * 1000).unref());
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle?.stop();
    for (const timer of this.timers) clearTimeout(timer);
    if (!this.response.writableEnded) this.response.end();
  }

  /** Current objects as ADDED events; returns the revision they reflect, where the live watch starts. */
  private sendInitialState(prefix: string): number {
    const { request, settings } = this;
    let startAfterKey: string | undefined;
    let revision: number | undefined;
    for (;;) {
      const page = settings.storage.list(prefix, { limit: 500, startAfterKey, atRevision: revision });
      revision = page.revision;
      for (const stored of page.items) {
        const event = toWatchEvent(request.type, { type: 'ADDED', key: stored.key, revision: stored.revision, value: stored.value }, request.filter);
        if (event !== undefined) this.send(event);
        startAfterKey = stored.key;
      }
      if (!page.more) break;
    }
    if (request.sendInitialEvents === true && request.allowBookmarks) this.sendBookmark(true, revision);
    return revision;
  }

  private bookmarkObject(revision: number, initialEventsEnd: boolean): KubeObject {
    const metadata: KubeObject['metadata'] = { resourceVersion: String(revision) };
    if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END_ANNOTATION]: 'true' };
    return { kind: this.request.type.kind, apiVersion: apiVersionOf(this.request.type), metadata };
  }

  /** Every event up to the current revision was delivered synchronously, so it is a safe point to resume from. */
  private sendBookmark(initialEventsEnd: boolean, revision = this.settings.storage.currentRevision()): void {
    if (this.closed) return;
    // bookmarks carry no object data, so they go out unencoded even on Table watches
    this.write({ type: 'BOOKMARK', object: this.bookmarkObject(revision, initialEventsEnd) });
  }

  private sendError(error: ApiError): void {
    this.write({ type: 'ERROR', object: error.toStatus() });
  }

  private send(event: WatchEvent): void {
    this.write({ type: event.type, object: this.request.encode(event) });
  }

  private write(event: { type: string; object: unknown }): void {
    if (this.closed || this.response.writableEnded) return;
    this.response.write(`${JSON.stringify(event)}\n`);
    if (this.response.writableLength > this.settings.maxBufferedBytes) {
      this.settings.onError(new Error(`watch of ${this.request.type.plural} fell ${this.response.writableLength} bytes behind; closing it`));
      this.close();
    }
  }
}
