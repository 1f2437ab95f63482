// The API server's PodStreamHandler for edge pods: `kubectl logs` as a chunked text/plain answer and
// `kubectl exec` as kubectl's WebSocket channel protocol (v5.channel.k8s.io, else v4), both relayed
// over the node's hub session by the StreamTable.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PodStreamHandler, PodStreamTarget } from '@kedge/apiserver';
import { WebSocketServer, type WebSocket } from 'ws';
import { StreamRefusedError } from './errors';
import { execStatus, rejectUpgrade, writeStatus } from './status';
import { StreamTable, type StreamTableOptions } from './stream-table';
import type { ExecOptions, LogOptions } from '@kedge/protocol';

export type CloudStreamOptions = StreamTableOptions;

const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
const CLOSE_CHANNEL = 255;

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === 'true' || value === '1';
}

function positiveInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new StreamRefusedError(400, `${name} must be a non-negative integer, not "${value}"`);
  return parsed;
}

/** The container asked for, or the pod's only (or default-annotated) container. @throws StreamRefusedError 400 */
export function containerOf(target: PodStreamTarget): string {
  const asked = target.query.get('container');
  if (asked) return asked;
  const pod = target.pod as { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Array<{ name?: string }> } };
  const names = (pod.spec?.containers ?? []).map((c) => c.name ?? '').filter((n) => n !== '');
  const preferred = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (preferred && names.includes(preferred)) return preferred;
  if (names.length === 1) return names[0] ?? '';
  throw new StreamRefusedError(400, `a container name must be specified for pod ${target.podName}, choose one of: [${names.join(' ')}]`);
}

export class CloudStream implements PodStreamHandler {
  readonly table: StreamTable;
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  constructor(private readonly options: CloudStreamOptions) {
    this.table = new StreamTable(options);
  }

  streamLog(target: PodStreamTarget, _request: IncomingMessage, response: ServerResponse): Promise<void> {
    return new Promise<void>((resolve) => {
      let id = '';
      let finished = false;
      const finish = (): void => {
        finished = true;
        resolve();
      };
      const startBody = (): void => {
        if (response.headersSent) return;
        response.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache' });
        response.flushHeaders();
      };
      try {
        const options: LogOptions = {
          follow: flag(target.query, 'follow'),
          previous: flag(target.query, 'previous'),
          timestamps: flag(target.query, 'timestamps'),
        };
        const tailLines = positiveInt(target.query, 'tailLines');
        const limitBytes = positiveInt(target.query, 'limitBytes');
        if (tailLines !== undefined) options.tailLines = tailLines;
        if (limitBytes !== undefined) options.limitBytes = limitBytes;
        const spec = { nodeName: target.nodeName, namespace: target.namespace, podName: target.podName, kind: 'log' as const, container: containerOf(target), options };
        id = this.table.open(spec, {
          ready: startBody,
          data: (_channel, data, written) => {
            startBody();
            response.write(data, () => written());
          },
          closed: () => {
            startBody();
            response.end();
            finish();
          },
          failed: (code, message) => {
            if (response.headersSent) response.destroy(new Error(message));
            else writeStatus(response, code, message);
            finish();
          },
        });
      } catch (error) {
        if (!(error instanceof StreamRefusedError)) throw error;
        writeStatus(response, error.code, error.message);
        finish();
        return;
      }
      response.on('close', () => {
        if (!finished) {
          this.table.cancel(id, 'the client went away');
          finish();
        }
      });
    });
  }

  upgrade(subresource: 'exec' | 'attach' | 'portforward', target: PodStreamTarget, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (subresource !== 'exec') {
      rejectUpgrade(socket, 400, `pods/${subresource} is not supported through the edge stream tunnel (only logs and exec)`);
      return;
    }
    if (String(request.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      rejectUpgrade(socket, 400, 'exec to edge pods needs the WebSocket protocol (kubectl >= 1.30); SPDY is not supported');
      return;
    }
    let spec;
    try {
      const query = target.query;
      const options: ExecOptions = {
        command: query.getAll('command'),
        stdin: flag(query, 'stdin'),
        stdout: flag(query, 'stdout'),
        stderr: flag(query, 'stderr'),
        tty: flag(query, 'tty'),
      };
      if (options.command.length === 0) throw new StreamRefusedError(400, 'you must specify at least one command for the container');
      spec = { nodeName: target.nodeName, namespace: target.namespace, podName: target.podName, kind: 'exec' as const, container: containerOf(target), options };
      this.table.admit(spec);
    } catch (error) {
      if (!(error instanceof StreamRefusedError)) throw error;
      rejectUpgrade(socket, error.code, error.message);
      return;
    }
    const execSpec = spec;
    this.wss.handleUpgrade(request, socket, head, (ws) => this.relayExec(ws, execSpec));
  }

  close(): void {
    this.table.close();
    this.wss.close();
  }

  private relayExec(ws: WebSocket, spec: Parameters<StreamTable['open']>[0]): void {
    let done = false;
    const end = (status: Record<string, unknown>): void => {
      if (done) return;
      done = true;
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]), () => ws.close(1000));
    };
    let id: string;
    try {
      id = this.table.open(spec, {
        ready() {},
        data: (channel, data, written) => {
          if (ws.readyState !== ws.OPEN) return written();
          ws.send(Buffer.concat([Buffer.from([channel]), data]), () => written());
        },
        closed: (content) => end(execStatus(content.exitCode ?? (content.reason ? undefined : 0), content.reason)),
        failed: (_code, message) => end(execStatus(undefined, message)),
      });
    } catch (error) {
      if (!(error instanceof StreamRefusedError)) throw error;
      end(execStatus(undefined, error.message));
      return;
    }
    ws.on('message', (raw: Buffer, isBinary: boolean) => {
      const frame = isBinary ? raw : Buffer.from(raw);
      if (frame.length === 0) return;
      const channel = frame[0] ?? 0;
      if (channel === 0 || channel === 4 || channel === CLOSE_CHANNEL) this.table.sendData(id, channel, frame.subarray(1));
    });
    ws.on('close', () => {
      if (!done) {
        done = true;
        this.table.cancel(id, 'the client went away');
      }
    });
  }
}
