// A byte-bounded send queue with FIFO backpressure, shared by both transports. A slow edge must cost
// the cloud a bounded amount of memory, and a fast producer must feel the slowness instead of hiding it.
import { ConnectionClosedError, SendQueueFullError, SendQueueTimeoutError } from './errors';

export interface SendQueueOptions<F> {
  /** most bytes handed to the socket but not yet written out */
  maxQueuedBytes: number;
  /** longest a caller may wait for room before SendQueueTimeoutError */
  sendTimeoutMs: number;
  /** writes one frame; resolves once the socket took it, rejects if it cannot */
  write: (frame: F) => Promise<void>;
}

interface Entry<F> {
  frame: F;
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Frames are admitted in call order while `queuedBytes + bytes <= maxQueuedBytes` (a frame bigger
 * than the whole budget is admitted alone, into an empty queue, so it cannot block forever). Admitted
 * frames are written at once, in order, and their bytes are released when the write completes.
 * Callers that do not fit wait in line, first come first served; the line itself holds at most
 * `maxQueuedBytes` more, beyond which send is refused at once with SendQueueFullError. So the queue
 * never holds more than about 2 × maxQueuedBytes, however many callers there are.
 */
export class SendQueue<F> {
  private queued = 0;
  private waitingTotal = 0;
  private readonly inFlight = new Set<Entry<F>>();
  private readonly waiting: Entry<F>[] = [];
  private closedReason: string | undefined;

  constructor(private readonly options: SendQueueOptions<F>) {}

  /** bytes admitted and not yet written out */
  get queuedBytes(): number {
    return this.queued;
  }

  /** bytes of callers waiting for room */
  get waitingBytes(): number {
    return this.waitingTotal;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Resolves when `frame` was written to the socket; see the class comment for the rejections. */
  enqueue(frame: F, bytes: number): Promise<void> {
    if (this.closedReason !== undefined) return Promise.reject(new ConnectionClosedError(this.closedReason));
    return new Promise<void>((resolve, reject) => {
      const entry: Entry<F> = { frame, bytes, resolve, reject };
      if (this.waiting.length === 0 && this.fits(bytes)) {
        this.admit(entry);
        return;
      }
      if (this.waitingTotal > 0 && this.waitingTotal + bytes > this.options.maxQueuedBytes) {
        reject(new SendQueueFullError(this.waitingTotal, this.options.maxQueuedBytes));
        return;
      }
      const startedAt = Date.now();
      entry.timer = setTimeout(() => {
        this.removeWaiting(entry);
        reject(new SendQueueTimeoutError(Date.now() - startedAt, this.queued));
        // the head may have been the one that could not fit; the next one might
        this.pump();
      }, this.options.sendTimeoutMs);
      this.waiting.push(entry);
      this.waitingTotal += bytes;
    });
  }

  /** Rejects every waiting and unfinished send with ConnectionClosedError; later sends too. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const pending = [...this.waiting, ...this.inFlight];
    this.waiting.length = 0;
    this.inFlight.clear();
    this.waitingTotal = 0;
    this.queued = 0;
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(new ConnectionClosedError(reason));
    }
  }

  private fits(bytes: number): boolean {
    return this.queued === 0 || this.queued + bytes <= this.options.maxQueuedBytes;
  }

  private admit(entry: Entry<F>): void {
    this.queued += entry.bytes;
    this.inFlight.add(entry);
    let written: Promise<void>;
    try {
      written = this.options.write(entry.frame);
    } catch (error) {
      written = Promise.reject(error);
    }
    written.then(
      () => this.settle(entry, undefined),
      (error: unknown) => this.settle(entry, error instanceof Error ? error : new Error(String(error))),
    );
  }

  private settle(entry: Entry<F>, error: Error | undefined): void {
    // after close() the entry was already rejected
    if (!this.inFlight.delete(entry)) return;
    this.queued -= entry.bytes;
    if (error === undefined) entry.resolve();
    else entry.reject(new ConnectionClosedError(`write failed: ${error.message}`, { cause: error }));
    this.pump();
  }

  private pump(): void {
    while (this.closedReason === undefined) {
      const head = this.waiting[0];
      if (head === undefined || !this.fits(head.bytes)) return;
      this.waiting.shift();
      this.waitingTotal -= head.bytes;
      clearTimeout(head.timer);
      this.admit(head);
    }
  }

  private removeWaiting(entry: Entry<F>): void {
    const index = this.waiting.indexOf(entry);
    if (index < 0) return;
    this.waiting.splice(index, 1);
    this.waitingTotal -= entry.bytes;
  }
}
