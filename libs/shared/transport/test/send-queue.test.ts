import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionClosedError, SendQueueFullError, SendQueueTimeoutError } from '../src/errors';
import { SendQueue } from '../src/send-queue';
import { waitFor } from './helpers';

/** A socket whose writes complete only when the test says so. */
class ManualSocket {
  readonly written: string[] = [];
  private readonly pending: { frame: string; resolve: () => void; reject: (error: Error) => void }[] = [];

  write = (frame: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.written.push(frame);
      this.pending.push({ frame, resolve, reject });
    });

  get inFlight(): number {
    return this.pending.length;
  }

  flushOne(): void {
    this.pending.shift()?.resolve();
  }

  failOne(error: Error): void {
    this.pending.shift()?.reject(error);
  }
}

describe('send queue', () => {
  const queues: SendQueue<string>[] = [];
  afterEach(() => {
    for (const queue of queues.splice(0)) queue.close('test over');
  });

  function newQueue(maxQueuedBytes: number, sendTimeoutMs = 10_000): { queue: SendQueue<string>; socket: ManualSocket } {
    const socket = new ManualSocket();
    const queue = new SendQueue<string>({ maxQueuedBytes, sendTimeoutMs, write: socket.write });
    queues.push(queue);
    return { queue, socket };
  }

  function settled(promise: Promise<void>): () => string {
    let state = 'pending';
    promise.then(
      () => (state = 'resolved'),
      (error: Error) => (state = error.name),
    );
    return () => state;
  }

  it('send queue - send resolves only once the socket wrote the frame', async () => {
    const { queue, socket } = newQueue(100);
    const sent = settled(queue.enqueue('a', 10));
    await Promise.resolve();
    expect(sent()).toBe('pending');
    expect(socket.written).toEqual(['a']);
    socket.flushOne();
    await waitFor(() => sent() === 'resolved', 'the send to resolve');
    expect(queue.queuedBytes).toBe(0);
  });

  it('send queue - a full queue makes senders wait in FIFO order, and room lets them in', async () => {
    const { queue, socket } = newQueue(25);
    const first = settled(queue.enqueue('1', 10));
    const second = settled(queue.enqueue('2', 10));
    const third = settled(queue.enqueue('3', 10));
    const fourth = settled(queue.enqueue('4', 5));
    // 1 and 2 fit (20 of 25); 3 does not; 4 would fit but must not overtake 3
    expect(socket.written).toEqual(['1', '2']);
    expect(queue.queuedBytes).toBe(20);
    expect(queue.waitingCount).toBe(2);

    socket.flushOne();
    await waitFor(() => first() === 'resolved', 'the first send');
    expect(socket.written).toEqual(['1', '2', '3', '4']);
    expect(queue.queuedBytes).toBe(25);
    for (let i = 0; i < 3; i += 1) socket.flushOne();
    await waitFor(() => [second(), third(), fourth()].every((state) => state === 'resolved'), 'all sends');
  });

  it('send queue - queued bytes never exceed the budget however many send at once', async () => {
    const { queue, socket } = newQueue(1_000, 60_000);
    let highest = 0;
    const sends = Array.from({ length: 200 }, (_, i) => {
      const sent = queue.enqueue(`frame-${i}`, 90 + (i % 20));
      highest = Math.max(highest, queue.queuedBytes);
      return sent;
    });
    // the line of waiters is bounded too: the rest are refused at once
    const outcomes = sends.map(settled);
    while (socket.inFlight > 0) {
      socket.flushOne();
      highest = Math.max(highest, queue.queuedBytes);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(highest).toBeLessThanOrEqual(1_000);
    const states = outcomes.map((state) => state());
    expect(states.filter((state) => state === 'resolved').length).toBeGreaterThan(10);
    expect(states.every((state) => state === 'resolved' || state === 'SendQueueFullError')).toBe(true);
    // what was written went out in call order
    const order = socket.written.map((frame) => Number(frame.slice('frame-'.length)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('send queue - waiting longer than the send timeout rejects with SendQueueTimeoutError', async () => {
    const { queue, socket } = newQueue(10, 50);
    const first = settled(queue.enqueue('a', 10));
    const waiting = queue.enqueue('b', 10);
    await expect(waiting).rejects.toBeInstanceOf(SendQueueTimeoutError);
    expect(queue.waitingCount).toBe(0);
    // the timed-out frame is not written later
    socket.flushOne();
    await waitFor(() => first() === 'resolved', 'the first send');
    expect(socket.written).toEqual(['a']);
  });

  it('send queue - a waiter that times out does not block the smaller one behind it', async () => {
    const { queue, socket } = newQueue(10, 50);
    const first = settled(queue.enqueue('a', 6));
    const blocked = queue.enqueue('b', 8);
    const behind = settled(queue.enqueue('c', 2));
    // c would fit next to a, but waits behind b (FIFO) until b gives up
    expect(socket.written).toEqual(['a']);
    await expect(blocked).rejects.toBeInstanceOf(SendQueueTimeoutError);
    await waitFor(() => socket.written.length === 2, 'c to be admitted');
    expect(socket.written).toEqual(['a', 'c']);
    expect(first()).toBe('pending');
    socket.flushOne();
    socket.flushOne();
    await waitFor(() => first() === 'resolved' && behind() === 'resolved', 'both sends');
  });

  it('send queue - a frame bigger than the whole budget is sent alone instead of blocking forever', async () => {
    const { queue, socket } = newQueue(10);
    const huge = settled(queue.enqueue('huge', 50));
    expect(socket.written).toEqual(['huge']);
    const next = settled(queue.enqueue('next', 1));
    expect(socket.written).toEqual(['huge']);
    socket.flushOne();
    await waitFor(() => huge() === 'resolved' && socket.written.length === 2, 'the next frame to go out');
    socket.flushOne();
    await waitFor(() => next() === 'resolved', 'the next send');
  });

  it('send queue - when the waiting line is full too, send is refused at once', async () => {
    const { queue } = newQueue(10);
    settled(queue.enqueue('a', 10));
    settled(queue.enqueue('b', 8));
    await expect(queue.enqueue('c', 8)).rejects.toBeInstanceOf(SendQueueFullError);
    expect(queue.waitingBytes).toBe(8);
  });

  it('send queue - close rejects waiting and unwritten sends, and later sends, with ConnectionClosedError', async () => {
    const { queue, socket } = newQueue(10);
    const inFlight = queue.enqueue('a', 10);
    const waiting = queue.enqueue('b', 10);
    queue.close('link lost');
    await expect(inFlight).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(waiting).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(queue.enqueue('c', 1)).rejects.toThrow(/link lost/);
    expect(queue.queuedBytes).toBe(0);
    // a late write completion after close changes nothing
    socket.flushOne();
    expect(queue.queuedBytes).toBe(0);
  });

  it('send queue - a failed write rejects that send with ConnectionClosedError and frees its room', async () => {
    const { queue, socket } = newQueue(10);
    const failing = queue.enqueue('a', 10);
    const next = settled(queue.enqueue('b', 10));
    socket.failOne(new Error('EPIPE'));
    const error = await failing.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await waitFor(() => socket.written.length === 2, 'the next frame to be admitted');
    socket.flushOne();
    await waitFor(() => next() === 'resolved', 'the next send');
  });
});
