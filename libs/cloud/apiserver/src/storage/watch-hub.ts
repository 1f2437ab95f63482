// Delivers storage events to watchers in revision order, each exactly once.
//
// Everything here runs on the one JavaScript thread that also runs the (synchronous) SQLite writes, so
// "replay, then subscribe" cannot be interleaved with a write except by a listener writing from inside
// its own callback. Two rules make that case safe too:
//  - while any delivery is in progress, new events are queued and delivered by the outermost loop, so a
//    write from inside a listener never overtakes the event being delivered;
//  - each watcher remembers the newest revision it has been given and skips anything at or below it,
//    so an event that is both replayed from the log and still queued reaches it once.
import type { StorageEvent, WatchHandle } from './object-storage';

/** How the hub reads committed history; implemented by the SQLite store. */
export interface EventSource {
  /** events with afterRevision < revision <= uptoRevision whose key starts with prefix, oldest first, at most `limit` */
  readEvents(prefix: string, afterRevision: number, uptoRevision: number, limit: number): StorageEvent[];
}

export type ListenerErrorHandler = (error: unknown, event: StorageEvent) => void;

interface Watcher {
  readonly prefix: string;
  readonly listener: (event: StorageEvent) => void;
  /** newest revision given to this watcher (or replayed for it) */
  deliveredUpTo: number;
  active: boolean;
}

// bounds the rows held in memory per log read during replay and catch-up
const READ_BATCH = 256;

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private pending: StorageEvent[] = [];
  private head = 0;
  private delivering = false;
  private closed = false;
  /** newest revision queued or delivered; rows above it (written by other connections) are not yet seen */
  private queuedUpTo: number;
  /** where running replays have read up to; compaction must not delete rows above the lowest of these */
  private readonly replayCursors = new Set<{ revision: number }>();

  constructor(
    private readonly source: EventSource,
    startRevision: number,
    private readonly onListenerError: ListenerErrorHandler,
  ) {
    this.queuedUpTo = startRevision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** the highest revision compaction may use without removing rows a running replay still has to read */
  compactionLimit(): number {
    let limit = Number.POSITIVE_INFINITY;
    for (const cursor of this.replayCursors) limit = Math.min(limit, cursor.revision);
    return limit;
  }

  /** called right after this process committed `event` */
  committed(event: StorageEvent): void {
    if (this.closed || event.revision <= this.queuedUpTo) return;
    // a gap means another connection wrote in between: its rows come first
    this.enqueueFromLog(event.revision - 1);
    if (this.watchers.size > 0) this.pending.push(event);
    this.queuedUpTo = event.revision;
    this.drain();
  }

  /** delivers rows committed by other connections up to `revision` */
  catchUp(revision: number): void {
    if (this.closed) return;
    this.enqueueFromLog(revision);
    this.drain();
  }

  /** replays history after `afterRevision` to a new watcher, then subscribes it; the caller checked compaction */
  watch(prefix: string, afterRevision: number, listener: (event: StorageEvent) => void, currentRevision: number): WatchHandle {
    this.catchUp(currentRevision);
    const watcher: Watcher = { prefix, listener, deliveredUpTo: afterRevision, active: true };
    const replayEnd = this.queuedUpTo;
    const cursor = { revision: afterRevision };
    const outermost = !this.delivering;
    this.delivering = true;
    this.replayCursors.add(cursor);
    try {
      while (watcher.active && !this.closed && cursor.revision < replayEnd) {
        const batch = this.source.readEvents(prefix, cursor.revision, replayEnd, READ_BATCH);
        for (const event of batch) this.deliver(watcher, event);
        const last = batch.at(-1);
        if (last === undefined || batch.length < READ_BATCH) break;
        cursor.revision = last.revision;
      }
    } finally {
      this.replayCursors.delete(cursor);
      if (outermost) this.delivering = false;
    }
    // everything up to replayEnd is in the log and was replayed; what was queued after it follows live
    watcher.deliveredUpTo = Math.max(watcher.deliveredUpTo, replayEnd);
    if (watcher.active && !this.closed) this.watchers.add(watcher);
    this.drain();
    return {
      stop: () => {
        watcher.active = false;
        this.watchers.delete(watcher);
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const watcher of this.watchers) watcher.active = false;
    this.watchers.clear();
    this.pending = [];
    this.head = 0;
  }

  private enqueueFromLog(uptoRevision: number): void {
    if (uptoRevision <= this.queuedUpTo) return;
    if (this.watchers.size === 0) {
      // nobody to tell; a later watcher replays these rows from the log itself
      this.queuedUpTo = uptoRevision;
      return;
    }
    while (this.queuedUpTo < uptoRevision) {
      const batch = this.source.readEvents('', this.queuedUpTo, uptoRevision, READ_BATCH);
      this.pending.push(...batch);
      const last = batch.at(-1);
      this.queuedUpTo = last === undefined || batch.length < READ_BATCH ? uptoRevision : last.revision;
    }
  }

  private drain(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (!this.closed && this.head < this.pending.length) {
        const event = this.pending[this.head];
        this.head += 1;
        if (event === undefined) continue;
        // a Set visits watchers added during the loop; they skip this event via deliveredUpTo
        for (const watcher of this.watchers) this.deliver(watcher, event);
      }
    } finally {
      this.pending = [];
      this.head = 0;
      this.delivering = false;
    }
  }

  private deliver(watcher: Watcher, event: StorageEvent): void {
    if (!watcher.active || this.closed || event.revision <= watcher.deliveredUpTo || !event.key.startsWith(watcher.prefix)) return;
    watcher.deliveredUpTo = event.revision;
    try {
      watcher.listener(event);
    } catch (error) {
      try {
        this.onListenerError(error, event);
      } catch {
        // the error reporter itself failed; the store and the other watchers must carry on regardless
      }
    }
  }
}
