// The API server's PodStreamHandler for edge pods: `kubectl logs` as a chunked text/plain answer,
// `kubectl exec` and `kubectl attach` as kubectl's WebSocket channel protocol (v5.channel.k8s.io, else
// v4), and `kubectl port-forward` as SPDY/3.1 (tunnelled in a WebSocket, or after a plain SPDY upgrade),
// all relayed over the node's hub session by the StreamTable.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PodStreamHandler, PodStreamTarget } from './pod-stream-handler';
import { WebSocketServer, type WebSocket } from 'ws';
import { StreamRefusedError } from './errors';
import { PortForwardTunnel, type TunnelLink } from './port-forward-tunnel';
import { ProcessSpdySession, SPDY_PROCESS_PROTOCOLS } from './process-spdy-session';
import { execStatus, rejectUpgrade, writeStatus } from './status';
import { StreamTable, type StreamSpec, type StreamTableOptions } from './stream-table';
import type { AttachOptions, ExecOptions, LogOptions } from '@kedge/protocol';

export type CloudStreamOptions = StreamTableOptions;

const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** kubectl ≥ 1.31 port-forward: SPDY/3.1 frames inside WebSocket binary messages (KEP-4006) */
const PORT_FORWARD_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
/** the older client path (and kubectl's fallback): `Upgrade: SPDY/3.1` with this stream protocol */
const PORT_FORWARD_SPDY_PROTOCOL = 'portforward.k8s.io';
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
  const pod = target.pod;
  const names = (pod.spec?.containers ?? []).map((c) => c.name ?? '').filter((n) => n !== '');
  const preferred = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (preferred && names.includes(preferred)) return preferred;
  if (names.length === 1) return names[0] ?? '';
  throw new StreamRefusedError(400, `a container name must be specified for pod ${target.podName}, choose one of: [${names.join(' ')}]`);
}

/** exec (a command) or attach (the container's main process) from the request's query. @throws StreamRefusedError 400 */
function processSpec(subresource: 'exec' | 'attach', target: PodStreamTarget): StreamSpec {
  const query = target.query;
  const streams: AttachOptions = { stdin: flag(query, 'stdin'), stdout: flag(query, 'stdout'), stderr: flag(query, 'stderr'), tty: flag(query, 'tty') };
  if (!streams.stdin && !streams.stdout && !streams.stderr) throw new StreamRefusedError(400, 'you must specify at least one of stdin, stdout, stderr');
  const base = { nodeName: target.nodeName, namespace: target.namespace, podName: target.podName, container: containerOf(target) };
  if (subresource === 'attach') return { ...base, kind: 'attach', options: streams };
  const options: ExecOptions = { ...streams, command: query.getAll('command') };
  if (options.command.length === 0) throw new StreamRefusedError(400, 'you must specify at least one command for the container');
  return { ...base, kind: 'exec', options };
}

export class CloudStream implements PodStreamHandler {
  readonly table: StreamTable;
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  // `SPDY/3.1+portforward.k8s.io` is not an RFC 7230 token ('/'), so ws would refuse the offer: the
  // protocol is checked here, taken out of the request, and named in the answer by hand
  private readonly portForwardWss = new WebSocketServer({ noServer: true });
  private readonly tunnelRequests = new WeakSet<IncomingMessage>();

  constructor(private readonly options: CloudStreamOptions) {
    this.table = new StreamTable(options);
    this.portForwardWss.on('headers', (headers: string[], request: IncomingMessage) => {
      if (this.tunnelRequests.has(request)) headers.push(`Sec-WebSocket-Protocol: ${PORT_FORWARD_TUNNEL_PROTOCOL}`);
    });
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
        const sinceSeconds = positiveInt(target.query, 'sinceSeconds');
        const sinceTime = target.query.get('sinceTime');
        if (tailLines !== undefined) options.tailLines = tailLines;
        if (limitBytes !== undefined) options.limitBytes = limitBytes;
        // passed on as given: the edge measures sinceSeconds on the clock that stamped its log lines
        if (sinceSeconds !== undefined) options.sinceSeconds = sinceSeconds;
        if (sinceTime !== null && sinceTime !== '') options.sinceTime = sinceTime;
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
    if (subresource === 'portforward') {
      this.upgradePortForward(target, request, socket, head);
      return;
    }
    const upgrade = String(request.headers.upgrade ?? '').toLowerCase();
    if (upgrade !== 'websocket' && upgrade !== 'spdy/3.1') {
      rejectUpgrade(socket, 400, `${subresource} needs an upgrade to WebSocket (${CHANNEL_PROTOCOLS.join(', ')}) or SPDY/3.1, not "${upgrade}"`);
      return;
    }
    let spec: StreamSpec;
    try {
      spec = processSpec(subresource, target);
      this.table.admit(spec);
    } catch (error) {
      if (!(error instanceof StreamRefusedError)) throw error;
      rejectUpgrade(socket, error.code, error.message);
      return;
    }
    if (upgrade === 'spdy/3.1') {
      this.upgradeProcessSpdy(spec, request, socket, head);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.relayProcess(ws, spec));
  }

  /** exec/attach over SPDY/3.1: what kube-apiserver (≤ 1.35) sends a kubelet, and SPDY-only clients. */
  private upgradeProcessSpdy(spec: StreamSpec, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const offered = String(request.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
    const protocol = SPDY_PROCESS_PROTOCOLS.find((p) => offered.includes(p));
    if (protocol === undefined) {
      rejectUpgrade(socket, 400, `${spec.kind} over SPDY needs X-Stream-Protocol-Version ${SPDY_PROCESS_PROTOCOLS.join(' or ')}; offered: ${offered.join(', ') || 'none'}`);
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
    const session = new ProcessSpdySession({
      link: {
        send: (bytes, sent) => (socket.writable ? socket.write(bytes, () => sent()) : sent()),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
        close: () => socket.end(),
      },
      table: this.table,
      spec,
      metrics: this.table.metrics,
      logger: this.options.logger,
    });
    if (head.length > 0) session.receive(head);
    socket.on('data', (bytes: Buffer) => session.receive(bytes));
    socket.on('close', () => session.linkClosed());
    socket.on('error', () => session.linkClosed());
  }

  close(): void {
    this.table.close();
    this.wss.close();
    this.portForwardWss.close();
  }

  private upgradePortForward(target: PodStreamTarget, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const upgrade = String(request.headers.upgrade ?? '').toLowerCase();
    const tunnelTarget = { nodeName: target.nodeName, namespace: target.namespace, podName: target.podName };
    try {
      // a port of 0 only asks "may this node take one more stream now"; each connection is admitted again
      this.table.admit({ ...tunnelTarget, kind: 'portforward', container: '', options: { port: 0 } });
    } catch (error) {
      if (!(error instanceof StreamRefusedError)) throw error;
      rejectUpgrade(socket, error.code, error.message);
      return;
    }
    const startTunnel = (transport: 'websocket' | 'spdy', link: TunnelLink): PortForwardTunnel => {
      this.table.metrics.portForwardSessions.inc({ transport });
      return new PortForwardTunnel({ link, table: this.table, target: tunnelTarget, metrics: this.table.metrics, logger: this.options.logger });
    };
    if (upgrade === 'websocket') {
      const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL)) {
        rejectUpgrade(socket, 400, `port-forward to edge pods speaks the WebSocket subprotocol ${PORT_FORWARD_TUNNEL_PROTOCOL} (kubectl >= 1.31) or SPDY/3.1; offered: ${offered.join(', ') || 'none'}`);
        return;
      }
      delete request.headers['sec-websocket-protocol'];
      this.tunnelRequests.add(request);
      this.portForwardWss.handleUpgrade(request, socket, head, (ws) => {
        const tunnel = startTunnel('websocket', {
          send: (bytes, sent) => (ws.readyState === ws.OPEN ? ws.send(bytes, { binary: true }, () => sent()) : sent()),
          pause: () => ws.pause(),
          resume: () => ws.resume(),
          close: () => ws.close(1000),
        });
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) tunnel.receive(data);
          else this.table.metrics.refusedFrames.inc({ kind: 'portforward', reason: 'text-message' });
        });
        ws.on('close', () => tunnel.linkClosed());
        ws.on('error', () => tunnel.linkClosed());
      });
      return;
    }
    if (upgrade === 'spdy/3.1') {
      const versions = String(request.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim());
      if (!versions.includes(PORT_FORWARD_SPDY_PROTOCOL)) {
        rejectUpgrade(socket, 400, `port-forward needs X-Stream-Protocol-Version ${PORT_FORWARD_SPDY_PROTOCOL}; offered: ${versions.join(', ') || 'none'}`);
        return;
      }
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_SPDY_PROTOCOL}\r\n\r\n`,
      );
      const tunnel = startTunnel('spdy', {
        send: (bytes, sent) => (socket.writable ? socket.write(bytes, () => sent()) : sent()),
        pause: () => socket.pause(),
        resume: () => socket.resume(),
        close: () => socket.end(),
      });
      if (head.length > 0) tunnel.receive(head);
      socket.on('data', (bytes: Buffer) => tunnel.receive(bytes));
      socket.on('close', () => tunnel.linkClosed());
      socket.on('error', () => tunnel.linkClosed());
      return;
    }
    rejectUpgrade(socket, 400, `port-forward needs an upgrade to WebSocket (${PORT_FORWARD_TUNNEL_PROTOCOL}) or SPDY/3.1, not "${upgrade}"`);
  }

  /** exec or attach: kubectl's channel protocol on one side, the hub stream on the other */
  private relayProcess(ws: WebSocket, spec: StreamSpec): void {
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
      if (channel === 0 || channel === 4 || channel === CLOSE_CHANNEL) void this.table.sendData(id, channel, frame.subarray(1));
    });
    ws.on('close', () => {
      if (!done) {
        done = true;
        this.table.cancel(id, 'the client went away');
      }
    });
  }
}
