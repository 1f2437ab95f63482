// The wire side of a watch: newline-delimited `{type, object}` JSON on a chunked 200 response, with
// periodic BOOKMARKs, the ERROR event carrying a Status (410 Expired for a too old resourceVersion),
// the client's timeout, and a cut-off for a client that stops reading. Where the events come from
// (storage revisions, a local change log) is the caller's business.
import type { ServerResponse } from 'node:http';
import type { Status } from '../status/status-error';
import type { WatchEventType } from './watch-events';

export interface WatchStreamOptions {
  /** ends the watch after this long; 0 means never (servers always pass their default) */
  timeoutSeconds: number;
  /** with `allowWatchBookmarks`: how often, and the bookmark object for the revision reached by then */
  bookmarks?: { intervalMs: number; object: () => unknown };
  /**
   * A client that stops reading must not make the server buffer without bound: past this many
   * buffered bytes the watch ends, and the client resumes from the last resourceVersion it saw.
   */
  maxBufferedBytes: number;
  /** told when the watch was cut for falling behind */
  onOverflow: (bufferedBytes: number) => void;
}

// setTimeout fires at once for delays beyond 2^31-1 ms, so longer timeouts are capped (~24 days)
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One watch event on the wire: `{"type":…,"object":…}` and a newline. */
export function watchEventLine(type: WatchEventType, object: unknown): string {
  return `${JSON.stringify({ type, object })}\n`;
}

export class WatchStreamWriter {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly closeListeners: (() => void)[] = [];
  private ended = false;
  /** Settles once the last chunk went out or the client went away. */
  readonly finished: Promise<void>;

  constructor(
    private readonly response: ServerResponse,
    private readonly options: WatchStreamOptions,
  ) {
    this.finished = new Promise<void>((resolve) => {
      response.once('close', resolve);
      response.once('finish', resolve);
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Sends the 200 head at once (clients wait for it before they count the watch as started) and starts the timers. */
  open(): void {
    const { response, options } = this;
    response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    response.flushHeaders();
    response.on('close', () => this.close());
    const bookmarks = options.bookmarks;
    if (bookmarks !== undefined) {
      this.timers.push(setInterval(() => this.send('BOOKMARK', bookmarks.object()), bookmarks.intervalMs).unref());
    }
    if (options.timeoutSeconds > 0) {
      this.timers.push(setTimeout(() => this.close(), Math.min(options.timeoutSeconds * 1000, MAX_TIMER_MS)).unref());
    }
  }

  send(type: WatchEventType, object: unknown): void {
    if (this.ended || this.response.writableEnded) return;
    this.sendLine(watchEventLine(type, object));
  }

  /**
   * An event already encoded by `watchEventLine`: a server that sends one event to many watches in
   * the same form encodes it once.
   */
  sendLine(line: string): void {
    const { response } = this;
    if (this.ended || response.writableEnded) return;
    response.write(line);
    if (response.writableLength > this.options.maxBufferedBytes) {
      this.options.onOverflow(response.writableLength);
      this.close();
    }
  }

  /** The ERROR event; a watch that sends one ends right after, as upstream. */
  sendError(status: Status): void {
    this.send('ERROR', status);
    this.close();
  }

  /** Runs `listener` once when the watch ends, whoever ends it (client, timeout, overflow, server). */
  onClose(listener: () => void): void {
    if (this.ended) listener();
    else this.closeListeners.push(listener);
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const listener of this.closeListeners.splice(0)) listener();
    if (!this.response.writableEnded) this.response.end();
  }
}
