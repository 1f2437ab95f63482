// One watch connection: storage events after the requested resourceVersion, then live, as watch
// events on kube-core's WatchStreamWriter. A resourceVersion older than the compacted history gets
// the ERROR event with a 410 Expired Status that makes informers re-list, as in Kubernetes.
import type { ServerResponse } from 'node:http';
import { StatusError, WatchStreamWriter, bookmarkObject, internalError, tooOldResourceVersion, type WatchEvent } from '@kedge/kube-core';
import { apiVersionOf, type ResourceType } from '../resources';
import { isStorageCode, objectPrefix } from '../registry';
import type { ObjectStorage, WatchHandle } from '../storage';
import { plainWatchLine, toWatchEvent, type WatchFilter } from './watch-events';

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
  /** `encode` is the identity (plain JSON): live events are encoded once for every such watcher */
  plainJson?: boolean;
}

export interface WatchSettings {
  storage: ObjectStorage;
  bookmarkIntervalMs: number;
  /** a watcher this far behind (bytes buffered) is cut off; it re-lists and watches again */
  maxBufferedBytes: number;
  onError: (error: unknown) => void;
}

export class WatchStream {
  private handle: WatchHandle | undefined;
  private readonly writer: WatchStreamWriter;

  constructor(
    private readonly request: WatchRequest,
    response: ServerResponse,
    private readonly settings: WatchSettings,
  ) {
    this.writer = new WatchStreamWriter(response, {
      timeoutSeconds: request.timeoutSeconds,
      // every event up to the current revision was delivered synchronously, so it is a safe point to resume from
      bookmarks: request.allowBookmarks ? { intervalMs: settings.bookmarkIntervalMs, object: () => this.bookmark(false) } : undefined,
      maxBufferedBytes: settings.maxBufferedBytes,
      onOverflow: (bytes) => settings.onError(new Error(`watch of ${request.type.plural} fell ${bytes} bytes behind; closing it`)),
    });
    this.writer.onClose(() => this.handle?.stop());
  }

  start(): void {
    const { request, settings, writer } = this;
    writer.open();
    const prefix = objectPrefix(request.type, request.namespace);
    const fromRevision = request.resourceVersion === '' || request.resourceVersion === '0' ? undefined : Number(request.resourceVersion);
    const initialState = request.sendInitialEvents ?? fromRevision === undefined;
    const current = settings.storage.currentRevision();
    if (fromRevision !== undefined && !initialState && fromRevision > current) {
      // what kube-apiserver's watch cache answers; client-go re-lists on it
      writer.sendError(
        new StatusError(504, 'Timeout', `Too large resource version: ${fromRevision}, current: ${current}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        }).toStatus(),
      );
      return;
    }
    try {
      const after = initialState ? this.sendInitialState(prefix) : (fromRevision ?? current);
      if (writer.closed) return;
      this.handle = settings.storage.watch(prefix, after, (event) => {
        if (writer.closed) return;
        try {
          const watchEvent = toWatchEvent(request.type, event, request.filter);
          if (watchEvent === undefined) return;
          if (request.plainJson === true) writer.sendLine(plainWatchLine(request.type, event, watchEvent));
          else this.send(watchEvent);
        } catch (error) {
          settings.onError(error);
        }
      });
    } catch (error) {
      if (isStorageCode(error, 'REVISION_COMPACTED')) {
        writer.sendError(tooOldResourceVersion(request.resourceVersion, settings.storage.compactedRevision()).toStatus());
      } else {
        settings.onError(error);
        writer.sendError(internalError(`watch could not start: ${error instanceof Error ? error.message : String(error)}`).toStatus());
      }
    }
  }

  close(): void {
    this.writer.close();
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
    if (request.sendInitialEvents === true && request.allowBookmarks) this.writer.send('BOOKMARK', this.bookmark(true, revision));
    return revision;
  }

  // bookmarks carry no object data, so they go out unencoded even on Table watches
  private bookmark(initialEventsEnd: boolean, revision = this.settings.storage.currentRevision()): unknown {
    return bookmarkObject(this.request.type.kind, apiVersionOf(this.request.type), String(revision), initialEventsEnd);
  }

  private send(event: WatchEvent): void {
    this.writer.send(event.type, this.request.encode(event));
  }
}
