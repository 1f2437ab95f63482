// A session on the container runtime's local streaming server (the URL CRI Exec or Attach returns).
// With stdin, over SPDY/3.1 (runtime-spdy.ts): its FIN on the stdin stream is how kubectl's end of input
// (channel 255) reaches the process, on every CRI streaming server; WebSocket v4 (all containerd 1.6
// offers) cannot say it. Without stdin, over kubectl's WebSocket channel protocol, v5.channel.k8s.io if the
// runtime has it, else v4. Shared by exec and attach, which differ only in how the URL is obtained.
import WebSocket from 'ws';
import { StreamFailure } from './errors';
import { dialRuntimeSpdy, type RuntimeStreams } from './runtime-spdy';

const RUNTIME_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const CLOSE_CHANNEL = 255;

export interface RuntimeStreamHooks {
  ready(): void;
  /** stdout (1) or stderr (2) from the process */
  output(channel: number, data: Buffer): Promise<void>;
  /** the process ended: its exit code, or a reason it could not run */
  finished(exitCode: number | undefined, reason?: string): void;
  /** a frame from the runtime could not be read (counted) */
  refused?(detail: string): void;
}

export interface RunningRuntimeStream {
  /** stdin (0), resize (4) or close-stdin (255) from kubectl */
  input(channel: number, data: Buffer): void;
  cancel(): void;
}

/** Exit code from a channel-3 Status: 0 on Success, the ExitCode cause, else undefined with the message. */
export function exitFromStatus(text: string): { exitCode: number | undefined; reason?: string } {
  let status: { status?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
  try {
    status = JSON.parse(text) as typeof status;
  } catch {
    return { exitCode: undefined, reason: text };
  }
  if (status.status === 'Success') return { exitCode: 0 };
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message !== undefined && /^\d+$/.test(cause.message)) return { exitCode: Number(cause.message) };
  return { exitCode: undefined, reason: status.message ?? text };
}

export interface RuntimeStreamRequest {
  /** what the session is, for error messages ("exec", "attach") */
  action: string;
  /** the streams the session has; with stdin the session runs over SPDY so stdin can be closed */
  streams: RuntimeStreams;
  /** asks the runtime for the streaming URL (CRI Exec or Attach) */
  streamUrl(): Promise<string>;
  /**
   * The streaming server could not be dialled. Return a promise that runs the session another way and
   * settles with its result, or undefined when there is no other way.
   */
  fallback?(why: string): Promise<{ exitCode: number | undefined; reason?: string }> | undefined;
}

export function startRuntimeStream(request: RuntimeStreamRequest, hooks: RuntimeStreamHooks): RunningRuntimeStream {
  let ws: WebSocket | undefined;
  let cancelled = false;
  let ended = false;
  let v5 = false;
  const queued: Buffer[] = [];
  const finish = (exitCode: number | undefined, reason?: string): void => {
    if (ended) return;
    ended = true;
    hooks.finished(exitCode, reason);
  };
  let outputs = Promise.resolve();

  const undialable = (why: string): void => {
    const other = request.fallback?.(why);
    if (!other) {
      finish(undefined, `cannot reach the container runtime's streaming server for ${request.action} (${why})`);
      return;
    }
    other.then(
      (result) => finish(result.exitCode, result.reason),
      (error: Error) => finish(undefined, error.message),
    );
  };

  let spdy: ReturnType<typeof dialRuntimeSpdy> | undefined;
  void (async () => {
    const url = await request.streamUrl();
    if (cancelled) return;
    if (request.streams.stdin) {
      spdy = dialRuntimeSpdy(url, request.streams, {
        opened: () => hooks.ready(),
        output: (channel, data) => hooks.output(channel, data),
        ended: (statusText) => {
          // no Status on the error stream means success, as kubectl reads it
          const { exitCode, reason } = statusText === '' ? { exitCode: 0 } : exitFromStatus(statusText);
          finish(exitCode, reason);
        },
        undialable: (why) => !cancelled && undialable(why),
        failed: (why) => finish(undefined, why),
        refused: (detail) => hooks.refused?.(detail),
      });
      for (const frame of queued.splice(0)) spdy.input(frame[0] ?? 0, frame.subarray(1));
      return;
    }
    const socket = new WebSocket(url, RUNTIME_PROTOCOLS);
    ws = socket;
    let opened = false;
    socket.on('open', () => {
      opened = true;
      v5 = socket.protocol === 'v5.channel.k8s.io';
      hooks.ready();
      for (const frame of queued.splice(0)) if (v5 || frame[0] !== CLOSE_CHANNEL) socket.send(frame);
    });
    socket.on('message', (raw: Buffer) => {
      if (raw.length === 0) return;
      const channel = raw[0] ?? 0;
      const payload = Buffer.from(raw.subarray(1));
      if (channel === 1 || channel === 2) {
        if (payload.length === 0) return;
        // hold the runtime while the hub window is full: the output waits instead of piling up here
        socket.pause();
        outputs = outputs.then(() => hooks.output(channel, payload)).finally(() => socket.resume());
      } else if (channel === 3) {
        const { exitCode, reason } = exitFromStatus(payload.toString('utf8'));
        void outputs.then(() => finish(exitCode, reason));
      }
    });
    socket.on('error', (error) => {
      if (!opened && !cancelled) undialable(error.message);
      else void outputs.then(() => finish(undefined, error.message));
    });
    socket.on('close', () => {
      // no status on the error channel means success (as kubectl reads it)
      if (opened) void outputs.then(() => finish(0));
    });
  })().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    finish(undefined, error instanceof StreamFailure ? message : `${request.action} failed: ${message}`);
  });

  return {
    input(channel, data) {
      if (spdy) {
        spdy.input(channel, data);
        return;
      }
      if (channel === CLOSE_CHANNEL && !v5 && ws?.readyState === WebSocket.OPEN) {
        // v4 has no half-close; the runtime sees stdin end when the connection ends
        return;
      }
      const frame = Buffer.concat([Buffer.from([channel]), data]);
      if (ws?.readyState === WebSocket.OPEN) ws.send(frame);
      else queued.push(frame);
    },
    cancel() {
      cancelled = true;
      ended = true;
      ws?.close();
      spdy?.cancel();
    },
  };
}
