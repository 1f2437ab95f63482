// The SPDY client of the runtime's streaming server (runtime-spdy.ts, through startRuntimeStream) against a
// remotecommand v4 server on a real loopback socket, built from @kedge/spdy as a CRI streaming server
// behaves: streams by streamType, SYN_REPLY each, stdin echoed to stdout, the end of stdin (FIN) ends the
// process with the Status on the error stream. The real containerd and kubectl are in
// tools/e2e/streams-stdin.test.ts.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  ControlType,
  FLAG_FIN,
  HeaderBlockReader,
  HeaderBlockWriter,
  SpdyFrameReader,
  controlFrame,
  dataFrame,
  decodeHeaderPairs,
  encodeHeaderPairs,
  parseSynStream,
  synReplyFrame,
} from '@kedge/spdy';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeStream, startRuntimeStream, streamTypesFor, type RuntimeStreams } from '../src/index';

interface ServerBehaviour {
  /** what the process does when its stdin ends: the Status JSON written on the error stream, or none */
  statusAtEof?: Record<string, unknown>;
  /** bytes to write raw on the connection once all streams exist */
  garbage?: Buffer;
  /** answer the upgrade request with this HTTP status instead */
  refuseWith?: number;
}

const STATUS_SUCCESS = { kind: 'Status', apiVersion: 'v1', status: 'Success' };

async function startServer(behaviour: ServerBehaviour) {
  const seen = { streamTypes: [] as string[], protocol: '' as string, method: '', stdin: Buffer.alloc(0), stdinFinished: false, resize: [] as string[] };
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    response.writeHead(behaviour.refuseWith ?? 400).end('not an upgrade');
  });
  server.on('upgrade', (request: http.IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    seen.method = request.method ?? '';
    seen.protocol = String(request.headers['x-stream-protocol-version'] ?? '');
    if (behaviour.refuseWith) {
      socket.end(`HTTP/1.1 ${behaviour.refuseWith} Nope\r\nContent-Length: 12\r\nConnection: close\r\n\r\nno such exec`);
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n');
    const frames = new SpdyFrameReader();
    const headers = new HeaderBlockReader();
    const writer = new HeaderBlockWriter();
    const ids = new Map<string, number>();
    let work = Promise.resolve();
    socket.on('data', (bytes: Buffer) => {
      for (const frame of frames.push(bytes)) {
        work = work.then(async () => {
          if (frame.control && frame.type === ControlType.SynStream) {
            const syn = parseSynStream(frame.flags, frame.payload);
            const type = decodeHeaderPairs(await headers.read(syn.headerBlock)).get('streamtype')?.[0] ?? '';
            seen.streamTypes.push(type);
            ids.set(type, syn.streamId);
            socket.write(synReplyFrame(syn.streamId, writer.wrap(encodeHeaderPairs([]))));
            if (behaviour.garbage && seen.streamTypes.length === 4) socket.write(behaviour.garbage);
          } else if (!frame.control && frame.streamId === ids.get('stdin')) {
            seen.stdin = Buffer.concat([seen.stdin, frame.payload]);
            // a cat: stdin comes back on stdout
            if (frame.payload.length > 0) socket.write(dataFrame(ids.get('stdout') ?? 0, 0, frame.payload));
            if (frame.flags & FLAG_FIN) {
              seen.stdinFinished = true;
              if (behaviour.statusAtEof) socket.write(dataFrame(ids.get('error') ?? 0, 0, Buffer.from(JSON.stringify(behaviour.statusAtEof))));
              socket.end();
            }
          } else if (!frame.control && frame.streamId === ids.get('resize')) {
            seen.resize.push(frame.payload.toString());
          }
        });
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exec/token`;
  return {
    url,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function run(url: string, streams: RuntimeStreams) {
  const output: Buffer[] = [];
  const refused: string[] = [];
  let ready = false;
  let resolveResult: (value: { exitCode: number | undefined; reason?: string }) => void = () => undefined;
  const result = new Promise<{ exitCode: number | undefined; reason?: string }>((resolve) => (resolveResult = resolve));
  const session = startRuntimeStream(
    { action: 'exec', streams, streamUrl: () => Promise.resolve(url) },
    {
      ready: () => (ready = true),
      output: (_channel, data) => {
        output.push(data);
        return Promise.resolve();
      },
      finished: (exitCode, reason) => resolveResult({ exitCode, ...(reason ? { reason } : {}) }),
      refused: (detail) => refused.push(detail),
    },
  );
  return { session, result, output, refused, isReady: () => ready };
}

describe('edgestream - runtime streams over SPDY (stdin that can end)', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('runtime SPDY - streams in kubectl order; stdin relayed in 32 KiB frames; channel 255 is a FIN; the Status gives the exit code', async () => {
    const server = await startServer({ statusAtEof: { kind: 'Status', status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } } });
    stop = server.stop;
    const streams = { stdin: true, stdout: true, stderr: true, tty: false };
    const session = run(server.url, streams);
    // input before the runtime accepted the streams is queued, not lost
    const upload = Buffer.alloc(100_000, 'x');
    session.session.input(0, upload);
    session.session.input(255, Buffer.from([0])); // v5's close frame: the id of the closed channel
    const result = await session.result;
    expect(result).toEqual({ exitCode: 7 });
    expect(session.isReady()).toBe(true);
    expect(server.seen.method).toBe('POST');
    expect(server.seen.protocol).toBe('v4.channel.k8s.io');
    expect(server.seen.streamTypes).toEqual(['error', 'stdin', 'stdout', 'stderr']);
    expect(server.seen.stdin.equals(upload)).toBe(true); // the close frame's byte is not stdin
    expect(server.seen.stdinFinished).toBe(true);
    expect(Buffer.concat(session.output).equals(upload)).toBe(true);
  });

  it('runtime SPDY - a Success Status (or none) is exit code 0; with a terminal there is a resize stream and no stderr', async () => {
    const server = await startServer({ statusAtEof: STATUS_SUCCESS });
    stop = server.stop;
    const session = run(server.url, { stdin: true, stdout: true, stderr: false, tty: true });
    session.session.input(4, Buffer.from('{"Width":100,"Height":30}'));
    session.session.input(0, Buffer.from('hello\n'));
    session.session.input(255, Buffer.alloc(0)); // as cloudstream's SPDY server sends it
    expect(await session.result).toEqual({ exitCode: 0 });
    expect(server.seen.streamTypes).toEqual(['error', 'stdin', 'stdout', 'resize']);
    expect(server.seen.resize).toEqual(['{"Width":100,"Height":30}']);
    expect(Buffer.concat(session.output).toString()).toBe('hello\n');
  });

  it('runtime SPDY - a close frame for another channel does not end stdin', async () => {
    const server = await startServer({});
    stop = server.stop;
    const session = run(server.url, { stdin: true, stdout: true, stderr: true, tty: false });
    session.session.input(255, Buffer.from([1]));
    session.session.input(0, Buffer.from('still open\n'));
    await expect.poll(() => Buffer.concat(session.output).toString(), { timeout: 10_000 }).toBe('still open\n');
    expect(server.seen.stdinFinished).toBe(false);
    session.session.input(255, Buffer.from([0]));
    expect(await session.result).toEqual({ exitCode: 0 });
  });

  it('runtime SPDY - a runtime that does not upgrade is a clear failure naming the HTTP status', async () => {
    const server = await startServer({ refuseWith: 404 });
    stop = server.stop;
    const session = run(server.url, { stdin: true, stdout: true, stderr: true, tty: false });
    const result = await session.result;
    expect(result.exitCode).toBeUndefined();
    expect(result.reason).toContain("cannot reach the container runtime's streaming server for exec");
    expect(result.reason).toContain('404');
  });

  it('attack - a broken frame from the runtime (other SPDY version) is refused, counted and ends only this session', async () => {
    const broken = controlFrame(ControlType.Ping, 0, Buffer.alloc(4));
    broken.writeUInt16BE(0x8002, 0); // SPDY/2
    const server = await startServer({ garbage: broken });
    stop = server.stop;
    const session = run(server.url, { stdin: true, stdout: true, stderr: true, tty: false });
    const result = await session.result;
    expect(result.exitCode).toBeUndefined();
    expect(result.reason).toContain('SPDY version 2 is not supported');
    expect(session.refused).toHaveLength(1);
  });

  it('runtime SPDY - the streams follow the request: stderr only without a terminal, resize only with one', () => {
    expect(streamTypesFor({ stdin: true, stdout: true, stderr: true, tty: false })).toEqual(['error', 'stdin', 'stdout', 'stderr']);
    expect(streamTypesFor({ stdin: true, stdout: true, stderr: true, tty: true })).toEqual(['error', 'stdin', 'stdout', 'resize']);
    expect(streamTypesFor({ stdin: true, stdout: false, stderr: false, tty: false })).toEqual(['error', 'stdin']);
  });

  it('attack - EdgeStream counts a broken runtime frame (operation runtime) and closes only that exec with the reason', async () => {
    const broken = controlFrame(ControlType.Ping, 0, Buffer.alloc(4));
    broken.writeUInt16BE(0x8002, 0);
    const server = await startServer({ garbage: broken });
    stop = server.stop;
    const router = new MessageRouter({ onHandlerError: () => undefined });
    const sent: Message[] = [];
    // CRI as edged's containerd answers: one running container of the pod, and the streaming URL of the exec
    const cri = {
      listContainers: async () => [{ id: 'c1', state: 'CONTAINER_RUNNING', metadata: { name: 'app', attempt: 0 }, createdAt: 1n }],
      exec: async () => server.url,
    } as never;
    const edge = new EdgeStream({ send: async (m) => void sent.push(m), router, cri, logger: createLogger({ name: 'runtime-spdy-test', level: 'silent' }) });
    try {
      await router.dispatch(
        newMessage({
          source: 'cloudstream',
          group: 'stream',
          operation: 'open',
          resource: 'default/pod/web',
          content: { id: 's1', kind: 'exec', container: 'app', window: 256 * 1024, options: { command: ['cat'], stdin: true, stdout: true, stderr: true, tty: false } },
        }),
      );
      await expect.poll(() => sent.find((m) => m.route.operation === 'close')?.content, { timeout: 10_000 }).toMatchObject({ id: 's1', reason: expect.stringContaining('SPDY version 2') });
      const refused = (await edge.metrics.refusedFrames.get()).values.map((v) => [v.labels.operation, v.labels.reason, v.value]);
      expect(refused).toEqual([['runtime', 'bad-runtime-frame', 1]]);
    } finally {
      edge.close();
      router.close();
    }
  });
});
