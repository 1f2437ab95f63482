// kubectl's side of a SPDY/3.1 session, as its SPDY library frames and compresses (one deflate context with
// the SPDY/3 dictionary, a sync flush per header block): what it sends, and the frames it got back.
import { constants as zlibConstants, createDeflate, type Deflate } from 'node:zlib';
import type { TunnelLink } from '../src/index';
import { ControlType, FLAG_FIN, SPDY3_HEADER_DICTIONARY, SpdyFrameReader, controlFrame, dataFrame, encodeHeaderPairs, type SpdyFrame } from '@kedge/spdy';

export /** kubectl's side of the session: what it sends, and the frames it got back. */
class SpdyClient {
  private readonly deflate: Deflate = createDeflate({ dictionary: SPDY3_HEADER_DICTIONARY });
  private readonly reader = new SpdyFrameReader();
  readonly received: SpdyFrame[] = [];
  closed = false;
  paused = false;

  constructor(readonly deliver: (bytes: Buffer) => void) {}

  readonly link: TunnelLink = {
    send: (bytes, sent) => {
      this.received.push(...this.reader.push(bytes));
      sent();
    },
    pause: () => (this.paused = true),
    resume: () => (this.paused = false),
    close: () => (this.closed = true),
  };

  private compress(block: Buffer): Promise<Buffer> {
    return new Promise((resolve) => {
      this.deflate.write(block);
      this.deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        const chunks: Buffer[] = [];
        for (let chunk = this.deflate.read() as Buffer | null; chunk !== null; chunk = this.deflate.read() as Buffer | null) chunks.push(chunk);
        resolve(Buffer.concat(chunks));
      });
    });
  }

  async synStream(streamId: number, headers: Array<[string, string]>): Promise<void> {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(streamId, 0);
    this.deliver(controlFrame(ControlType.SynStream, 0, Buffer.concat([fixed, await this.compress(encodeHeaderPairs(headers))])));
  }

  /** kubectl's pair for one local connection: the error stream, then the data stream */
  async openConnection(errorStreamId: number, port: number, requestId: number): Promise<void> {
    const base: Array<[string, string]> = [['Port', String(port)], ['Requestid', String(requestId)]];
    await this.synStream(errorStreamId, [['Streamtype', 'error'], ...base]);
    this.deliver(dataFrame(errorStreamId, FLAG_FIN, Buffer.alloc(0)));
    await this.synStream(errorStreamId + 2, [['Streamtype', 'data'], ...base]);
  }

  dataOn(streamId: number): string {
    return this.received
      .filter((f): f is Extract<SpdyFrame, { control: false }> => !f.control && f.streamId === streamId)
      .map((f) => f.payload.toString())
      .join('');
  }

  finished(streamId: number): boolean {
    return this.received.some((f) => !f.control && f.streamId === streamId && (f.flags & FLAG_FIN) !== 0);
  }

  controls(type: number): Buffer[] {
    return this.received.filter((f): f is Extract<SpdyFrame, { control: true }> => f.control && f.type === type).map((f) => f.payload);
  }
}

