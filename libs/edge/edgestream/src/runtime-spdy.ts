// A SPDY/3.1 client of the container runtime's streaming server, remotecommand v4.channel.k8s.io: the
// protocol a kubelet's own clients speak to it. Used when stdin must be closable: over SPDY, a FIN on the
// stdin stream is the end of the process's stdin, which the WebSocket v4 protocol (all containerd 1.6
// offers) cannot say. One SPDY stream per `streamType` (error, stdin, stdout, stderr, resize), opened by us
// in that order, as kubectl opens them; the runtime answers each with SYN_REPLY, writes stdout/stderr, and
// at the end the Status on the error stream, then closes the connection.
import http from 'node:http';
import type { Socket } from 'node:net';
import {
  ControlType,
  FLAG_FIN,
  HeaderBlockReader,
  HeaderBlockWriter,
  SpdyFrameReader,
  SpdyProtocolError,
  dataFrame,
  encodeHeaderPairs,
  leadingStreamId,
  pingFrame,
  synStreamFrame,
  type SpdyFrame,
} from '@kedge/spdy';

export const RUNTIME_SPDY_PROTOCOL = 'v4.channel.k8s.io';

export interface RuntimeStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

export interface RuntimeSpdyEvents {
  /** every stream was accepted (SYN_REPLY): input may flow */
  opened(): void;
  /** stdout (1) or stderr (2); the connection is not read further until the promise settles */
  output(channel: 1 | 2, data: Buffer): Promise<void>;
  /** the connection ended: the error stream's text (a v4 Status, empty when none came) */
  ended(statusText: string): void;
  /** the upgrade failed before any stream was opened (the caller may fall back) */
  undialable(why: string): void;
  /** the session broke after it was established */
  failed(why: string): void;
  /** a frame from the runtime could not be read (counted by the caller) */
  refused(detail: string): void;
}

export interface RuntimeSpdySession {
  /** stdin (0), resize (4), close stdin (255) */
  input(channel: number, data: Buffer): void;
  cancel(): void;
}

/** SPDY data frames we send are at most this (kubectl's are 32 KiB). */
const MAX_DATA_FRAME = 32 * 1024;
const CLOSE_CHANNEL = 255;

export function streamTypesFor(streams: RuntimeStreams): StreamType[] {
  const types: StreamType[] = ['error'];
  if (streams.stdin) types.push('stdin');
  if (streams.stdout) types.push('stdout');
  // with a terminal, stderr is merged into stdout and the resize stream carries the size
  if (streams.stderr && !streams.tty) types.push('stderr');
  if (streams.tty) types.push('resize');
  return types;
}

export function dialRuntimeSpdy(url: string, streams: RuntimeStreams, events: RuntimeSpdyEvents): RuntimeSpdySession {
  const frames = new SpdyFrameReader();
  const headerReader = new HeaderBlockReader();
  const headerWriter = new HeaderBlockWriter();
  const types = streamTypesFor(streams);
  const ids = new Map<StreamType, number>();
  const typeOf = new Map<number, StreamType>();
  const replied = new Set<number>();
  const queued: Array<[number, Buffer]> = [];
  const statusChunks: Buffer[] = [];
  let socket: Socket | undefined;
  let established = false;
  let opened = false;
  let done = false;
  let stdinClosed = false;
  let handling: Promise<void> = Promise.resolve();

  const finish = (how: () => void): void => {
    if (done) return;
    done = true;
    headerReader.close();
    socket?.destroy();
    how();
  };

  const send = (channel: number, data: Buffer): void => {
    if (!socket || done) return;
    if (channel === 0) {
      const id = ids.get('stdin');
      if (id === undefined || stdinClosed) return;
      for (let offset = 0; offset < data.length; offset += MAX_DATA_FRAME) socket.write(dataFrame(id, 0, data.subarray(offset, offset + MAX_DATA_FRAME)));
    } else if (channel === CLOSE_CHANNEL) {
      // v5's close frame names the channel it closes (its one payload byte, 0 = stdin; kubectl closes only
      // stdin); the SPDY server side sends it empty
      const id = ids.get('stdin');
      if (id === undefined || stdinClosed || (data.length > 0 && data[0] !== 0)) return;
      stdinClosed = true;
      socket.write(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
    } else if (channel === 4) {
      const id = ids.get('resize');
      if (id !== undefined) socket.write(dataFrame(id, 0, data));
    }
  };

  const handle = async (frame: SpdyFrame): Promise<void> => {
    if (!frame.control) {
      const type = typeOf.get(frame.streamId);
      if (type === 'stdout' || type === 'stderr') {
        if (frame.payload.length > 0) {
          socket?.pause();
          try {
            await events.output(type === 'stdout' ? 1 : 2, frame.payload);
          } finally {
            socket?.resume();
          }
        }
      } else if (type === 'error') {
        statusChunks.push(frame.payload);
      } else {
        events.refused(`DATA on stream ${frame.streamId}, which is not one of the session's output streams`);
      }
      return;
    }
    switch (frame.type) {
      case ControlType.SynReply: {
        const id = leadingStreamId(frame.payload);
        if (id === undefined || !typeOf.has(id)) {
          events.refused(`SYN_REPLY for stream ${String(id)}, which we did not open`);
          return;
        }
        // the header block must still pass through the shared inflate context to keep it in step
        await headerReader.read(frame.payload.subarray(4));
        replied.add(id);
        if (!opened && replied.size === types.length) {
          opened = true;
          events.opened();
          for (const [channel, data] of queued.splice(0)) send(channel, data);
        }
        return;
      }
      case ControlType.Ping:
        if (frame.payload.length === 4) socket?.write(pingFrame(frame.payload.readUInt32BE(0)));
        else events.refused(`PING of ${frame.payload.length} bytes`);
        return;
      case ControlType.SynStream:
        events.refused('SYN_STREAM from the runtime (a remotecommand server opens no streams)');
        return;
      case ControlType.GoAway:
        socket?.end();
        return;
      default:
        // RST_STREAM, SETTINGS, WINDOW_UPDATE, HEADERS: nothing to act on
        return;
    }
  };

  const request = http.request(url, {
    method: 'POST',
    headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': RUNTIME_SPDY_PROTOCOL },
  });
  request.on('response', (response) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.length < 16 && chunks.push(chunk));
    response.on('end', () => finish(() => events.undialable(`HTTP ${response.statusCode ?? '?'} instead of an upgrade: ${Buffer.concat(chunks).toString('utf8').trim().slice(0, 300)}`)));
  });
  request.on('error', (error) => finish(() => (established ? events.failed(error.message) : events.undialable(error.message))));
  request.on('upgrade', (response, upgraded, head) => {
    socket = upgraded;
    const protocol = response.headers['x-stream-protocol-version'];
    if (protocol !== RUNTIME_SPDY_PROTOCOL) {
      finish(() => events.undialable(`the runtime answered protocol "${String(protocol ?? '')}", not ${RUNTIME_SPDY_PROTOCOL}`));
      return;
    }
    established = true;
    const receive = (bytes: Buffer): void => {
      if (done) return;
      let parsed: SpdyFrame[];
      try {
        parsed = frames.push(bytes);
      } catch (error) {
        events.refused((error as Error).message);
        finish(() => events.failed(`broken SPDY framing from the runtime: ${(error as Error).message}`));
        return;
      }
      for (const frame of parsed) {
        handling = handling
          .then(() => (done ? undefined : handle(frame)))
          .catch((error: unknown) => {
            if (error instanceof SpdyProtocolError) events.refused(error.message);
            finish(() => events.failed(`SPDY session with the runtime broke: ${(error as Error).message}`));
          });
      }
    };
    upgraded.on('data', receive);
    upgraded.on('error', () => undefined); // 'close' follows and ends the session
    upgraded.on('close', () => {
      void handling.then(() =>
        finish(() => (opened ? events.ended(Buffer.concat(statusChunks).toString('utf8')) : events.failed('the runtime closed the connection before it accepted the streams'))),
      );
    });
    types.forEach((type, index) => {
      const id = 1 + 2 * index;
      ids.set(type, id);
      typeOf.set(id, type);
      upgraded.write(synStreamFrame(id, 0, headerWriter.wrap(encodeHeaderPairs([['streamtype', type]]))));
    });
    if (head.length > 0) receive(head);
  });
  request.end();

  return {
    input(channel, data) {
      if (opened) send(channel, data);
      else queued.push([channel, data]);
    },
    cancel() {
      finish(() => undefined);
      request.destroy();
    },
  };
}
