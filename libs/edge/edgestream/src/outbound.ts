// One stream's data towards the cloud, under flow control: at most `window` bytes unacknowledged, so a
// chatty `logs -f` waits for kubectl instead of filling the hub's send queue.

export const MAX_CHUNK_BYTES = 64 * 1024;

export type SendData = (channel: number, data: Buffer) => Promise<void>;

export class Outbound {
  private inflight = 0;
  private waiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly window: number,
    private readonly send: SendData,
  ) {}

  get blocked(): boolean {
    return this.inflight >= this.window;
  }

  /** Resolves when the data is handed to the hub; waits for acks while the window is full. */
  async write(channel: number, data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length && !this.stopped; offset += MAX_CHUNK_BYTES) {
      while (this.inflight >= this.window && !this.stopped) await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (this.stopped) return;
      const chunk = data.subarray(offset, offset + MAX_CHUNK_BYTES);
      this.inflight += chunk.length;
      await this.send(channel, chunk);
    }
  }

  ack(bytes: number): void {
    this.inflight = Math.max(0, this.inflight - bytes);
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
