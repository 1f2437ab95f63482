// What both transports share once a link is up: encoding and decoding, the bounded send queue, typed
// events, and close-exactly-once. A transport only moves frames and tears its socket down.
import { EventEmitter } from 'node:events';
import { ProtocolError, decodeFrame, decodeMessage, encodeMessage } from '@kedge/protocol';
import type { DecodedItem, Message } from '@kedge/protocol';
import type { Connection, ConnectionClosed, ConnectionEvents, LinkLimits, PeerIdentity, TransportKind } from './connection';
import { ConnectionClosedError } from './errors';
import { SendQueue } from './send-queue';

export interface FramedConnectionInit {
  peer: PeerIdentity;
  remoteAddress: string;
  limits: LinkLimits;
}

type Listener = (...args: unknown[]) => void;

export abstract class FramedConnection<F> implements Connection {
  abstract readonly kind: TransportKind;
  readonly peer: PeerIdentity;
  readonly remoteAddress: string;
  protected readonly limits: LinkLimits;
  private readonly events = new EventEmitter();
  private readonly queue: SendQueue<F>;
  private closeInfo: ConnectionClosed | undefined;
  private closingLocally: string | undefined;
  private readonly gone: Promise<void>;
  private markGone!: () => void;
  /** events waiting for the first listener; undefined once released */
  private held: (() => void)[] | undefined = [];
  private markReleased!: () => void;
  /** resolves when the first listener is attached and held events were delivered */
  protected readonly released: Promise<void>;
  /** who currently pauses reading (see pauseReading) */
  private readonly readHolds = new Set<string>();

  constructor(init: FramedConnectionInit) {
    this.peer = init.peer;
    this.remoteAddress = init.remoteAddress;
    this.limits = init.limits;
    this.queue = new SendQueue<F>({
      maxQueuedBytes: init.limits.maxQueuedBytes,
      sendTimeoutMs: init.limits.sendTimeoutMs,
      write: (frame) => this.writeFrame(frame),
    });
    this.gone = new Promise<void>((resolve) => {
      this.markGone = resolve;
    });
    this.released = new Promise<void>((resolve) => {
      this.markReleased = resolve;
    });
  }

  get closed(): boolean {
    return this.closingLocally !== undefined || this.closeInfo !== undefined;
  }

  send(message: Message): Promise<void> {
    if (this.closed) {
      return Promise.reject(new ConnectionClosedError(this.closeInfo?.reason ?? this.closingLocally ?? 'closed'));
    }
    let frame: { frame: F; bytes: number };
    try {
      // throws ProtocolError for a message the peer would refuse, including one over maxFrameBytes
      frame = this.frameOf(encodeMessage(message, { maxFrameBytes: this.limits.maxFrameBytes }));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.queue.enqueue(frame.frame, frame.bytes);
  }

  close(reason = 'closed by this side'): Promise<void> {
    if (this.closeInfo === undefined && this.closingLocally === undefined) {
      this.closingLocally = reason;
      this.queue.close(reason);
      this.closeTransport(reason).then(
        () => this.finish({ local: true, reason }),
        (error: unknown) => this.finish({ local: true, reason: `${reason} (${String(error)})` }),
      );
    }
    return this.gone;
  }

  pauseReading(holder: string): void {
    if (this.readHolds.has(holder)) return;
    this.readHolds.add(holder);
    if (this.readHolds.size === 1) this.readingPauseChanged(true);
  }

  resumeReading(holder: string): void {
    if (!this.readHolds.delete(holder)) return;
    if (this.readHolds.size === 0) this.readingPauseChanged(false);
  }

  get readingPaused(): boolean {
    return this.readHolds.size > 0;
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.events.on(event, listener as Listener);
    this.scheduleRelease();
    return this;
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.events.off(event, listener as Listener);
    return this;
  }

  once<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.events.once(event, listener as Listener);
    this.scheduleRelease();
    return this;
  }

  /** true until someone listens: the transport should not read ahead meanwhile */
  protected get holding(): boolean {
    return this.held !== undefined;
  }

  /** bytes admitted to the send queue and not yet written; for metrics */
  get queuedBytes(): number {
    return this.queue.queuedBytes;
  }

  /** Turns encoded text into what the transport writes, with its size for the queue budget. */
  protected abstract frameOf(text: string): { frame: F; bytes: number };
  /** Writes one frame; resolves when the socket took it. */
  protected abstract writeFrame(frame: F): Promise<void>;
  /** Tears the socket down; resolves when it is gone. Called at most once, for a local close. */
  protected abstract closeTransport(reason: string): Promise<void>;
  /** Stops (true) or restarts (false) reading from the socket; see pauseReading. */
  protected abstract readingPauseChanged(paused: boolean): void;

  /**
   * Decodes one received frame and emits `message`, or `badFrame` (the link stays up). With
   * `acceptsBatches`, a batch frame emits `message` per valid item and `badFrame` per bad one, in order.
   */
  protected receiveFrame(frame: Uint8Array, acceptsBatches = false): void {
    if (acceptsBatches) {
      this.receiveBatchFrame(frame);
      return;
    }
    let message: Message;
    try {
      message = decodeMessage(frame, { maxFrameBytes: this.limits.maxFrameBytes });
    } catch (error) {
      this.reportBadFrame(error instanceof Error ? error : new ProtocolError('INVALID_FRAME', String(error)));
      return;
    }
    this.deliver(() => this.events.emit('message', message));
  }

  private receiveBatchFrame(frame: Uint8Array): void {
    let items: DecodedItem[];
    try {
      items = decodeFrame(frame, { maxFrameBytes: this.limits.maxFrameBytes });
    } catch (error) {
      this.reportBadFrame(error instanceof Error ? error : new ProtocolError('INVALID_FRAME', String(error)));
      return;
    }
    for (const item of items) {
      if (item instanceof ProtocolError) this.reportBadFrame(item);
      else this.deliver(() => this.events.emit('message', item));
    }
  }

  protected reportBadFrame(error: Error): void {
    this.deliver(() => this.events.emit('badFrame', error));
  }

  /** The transport says the link is gone (either side); emits `close` exactly once. */
  protected finish(info: ConnectionClosed): void {
    if (this.closeInfo !== undefined) return;
    // a local close() in progress wins over whatever the socket reports while going down
    this.closeInfo = this.closingLocally !== undefined ? { local: true, reason: this.closingLocally } : info;
    this.queue.close(this.closeInfo.reason);
    this.markGone();
    const closeInfo = this.closeInfo;
    this.deliver(() => this.events.emit('close', closeInfo));
  }

  /**
   * A dialer gets its Connection a few microtasks after the socket opened; frames arriving in that
   * gap would be emitted to nobody. So events are held, in order, until the first listener of any
   * event is attached, and delivered a microtask later: attach all listeners in the same tick.
   */
  private deliver(fire: () => void): void {
    if (this.held !== undefined) this.held.push(fire);
    else fire();
  }

  private scheduleRelease(): void {
    // a microtask later, so the other listeners added in the same tick get their events too
    if (this.held !== undefined) queueMicrotask(() => this.release());
  }

  private release(): void {
    const held = this.held;
    if (held === undefined) return;
    // events fired by listeners during the flush queue up behind the held ones
    for (let fire = held.shift(); fire !== undefined; fire = held.shift()) fire();
    this.held = undefined;
    this.markReleased();
  }

  /** Closes the transport for a reason of our own (idle timeout, protocol violation). */
  protected abort(reason: string): void {
    void this.close(reason);
  }
}
