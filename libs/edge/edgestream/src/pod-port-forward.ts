// One TCP connection of a `kubectl port-forward`, from the edge host to the pod. CRI PortForward would
// hand out a SPDY-only URL on containerd; dialling the pod's address directly needs no SPDY client and
// reaches the same socket: the sandbox IP on the CNI bridge, or 127.0.0.1 for a pod on the node's network.
import { connect, type Socket } from 'node:net';
import type { CriClient } from '@kedge/cri';
import { StreamFailure } from './errors';
import { POD_NAME_LABEL, POD_NAMESPACE_LABEL } from './cri-log';

const CLOSE_CHANNEL = 255;
const CONNECT_TIMEOUT_MS = 10_000;

/** Where the pod's ports are reachable from this host. @throws StreamFailure 404 when the pod has no ready sandbox here */
export async function podAddress(cri: Pick<CriClient, 'listPodSandbox' | 'podSandboxStatus'>, namespace: string, pod: string): Promise<string> {
  const sandboxes = await cri.listPodSandbox({ state: 'SANDBOX_READY', labelSelector: { [POD_NAMESPACE_LABEL]: namespace, [POD_NAME_LABEL]: pod } });
  const newest = sandboxes.sort((a, b) => (b.createdAt > a.createdAt ? 1 : b.createdAt < a.createdAt ? -1 : 0))[0];
  if (!newest) throw new StreamFailure(404, `pod ${namespace}/${pod} has no running sandbox on this node`);
  const status = await cri.podSandboxStatus(newest.id);
  if (status.namespaceOptions?.network === 'NODE') return '127.0.0.1';
  if (!status.ip) throw new StreamFailure(500, `pod ${namespace}/${pod} (sandbox ${newest.id}) has no IP address yet`);
  return status.ip;
}

export interface PortConnectionHooks {
  /** the pod accepted the connection */
  connected(): void;
  /** bytes from the pod; the socket is paused until the promise settles (the hub window) */
  output(data: Buffer): Promise<void>;
  /** this many bytes from kubectl were written to the pod's socket (the cloud reads on only as they are) */
  written(bytes: number): void;
  /** the connection ended; `error` when it failed (refused, reset) */
  finished(error?: string): void;
}

export interface RunningPortConnection {
  /** 0: bytes to the pod; 255: kubectl's side will send no more */
  input(channel: number, data: Buffer): void;
  cancel(): void;
}

export function startPortConnection(host: string, port: number, hooks: PortConnectionHooks): RunningPortConnection {
  let ended = false;
  let connected = false;
  let outputs = Promise.resolve();
  const socket: Socket = connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
  const finish = (error?: string): void => {
    if (ended) return;
    ended = true;
    void outputs.then(() => hooks.finished(error));
  };
  socket.once('connect', () => {
    connected = true;
    socket.setTimeout(0);
    hooks.connected();
  });
  socket.once('timeout', () => socket.destroy(new Error(`no answer from ${host}:${port} in ${CONNECT_TIMEOUT_MS / 1000} s`)));
  socket.on('data', (chunk: Buffer) => {
    socket.pause();
    outputs = outputs.then(() => hooks.output(chunk)).finally(() => socket.resume());
  });
  socket.once('error', (error: NodeJS.ErrnoException) => {
    const what = connected ? `connection to ${host}:${port} failed` : `failed to connect to ${host}:${port}`;
    finish(`${what}: ${error.message}`);
  });
  socket.once('close', () => finish());
  return {
    input(channel, data) {
      if (channel === CLOSE_CHANNEL) socket.end();
      else if (channel === 0 && data.length > 0 && !socket.destroyed) socket.write(data, (error) => !error && hooks.written(data.length));
    },
    cancel() {
      ended = true;
      socket.destroy();
    },
  };
}
