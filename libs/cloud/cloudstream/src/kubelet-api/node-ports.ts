// One TCP port per edge node, from a configured range: kube-apiserver and metrics-server dial
// `<node address>:<kubeletEndpoint port>` with no node name in the request, so the port is the only
// thing that says which node a connection is for. Each port is a plain net.Server whose sockets are
// handed to the one HTTPS server; the local port of a socket names its node.
import { createServer, type Server, type Socket } from 'node:net';

export interface NodePortsOptions {
  bindAddress: string;
  rangeStart: number;
  rangeSize: number;
  /** every accepted connection, with the node its port belongs to */
  onConnection(socket: Socket, nodeName: string): void;
}

export class PortRangeExhaustedError extends Error {
  override readonly name = 'PortRangeExhaustedError';
  constructor(
    readonly nodeName: string,
    readonly rangeStart: number,
    readonly rangeSize: number,
  ) {
    super(`no free kubelet API port for edge node "${nodeName}" in ${rangeStart}-${rangeStart + rangeSize - 1} (kubeletApi.portRangeStart/portRangeSize)`);
  }
}

export class NodePorts {
  private readonly byNode = new Map<string, { port: number; server: Server; sockets: Set<Socket> }>();
  private readonly byPort = new Map<number, string>();
  private readonly pending = new Map<string, Promise<number>>();

  constructor(private readonly options: NodePortsOptions) {
    if (!Number.isInteger(options.rangeStart) || options.rangeStart < 1 || options.rangeStart + options.rangeSize - 1 > 65_535 || options.rangeSize < 1) {
      throw new RangeError(`kubeletApi port range ${options.rangeStart}+${options.rangeSize} is not within 1-65535`);
    }
  }

  portOf(nodeName: string): number | undefined {
    return this.byNode.get(nodeName)?.port;
  }

  nodeOfPort(port: number | undefined): string | undefined {
    return port === undefined ? undefined : this.byPort.get(port);
  }

  get size(): number {
    return this.byNode.size;
  }

  /** The node's port, listening; `preferred` (the one in its Node status) is taken when it is in range and free. */
  allocate(nodeName: string, preferred?: number): Promise<number> {
    const existing = this.byNode.get(nodeName);
    if (existing !== undefined) return Promise.resolve(existing.port);
    let pending = this.pending.get(nodeName);
    if (pending === undefined) {
      pending = this.listenSomewhere(nodeName, preferred).finally(() => this.pending.delete(nodeName));
      this.pending.set(nodeName, pending);
    }
    return pending;
  }

  /**
   * Closes the node's port (its Node was deleted) and ends its open connections, so none of them is
   * taken for another node's once the port is given out again.
   */
  async release(nodeName: string): Promise<void> {
    const entry = this.byNode.get(nodeName);
    if (entry === undefined) return;
    this.byNode.delete(nodeName);
    this.byPort.delete(entry.port);
    for (const socket of entry.sockets) socket.destroy();
    await closeServer(entry.server);
  }

  async close(): Promise<void> {
    await Promise.all([...this.byNode.keys()].map((node) => this.release(node)));
  }

  private candidates(preferred: number | undefined): number[] {
    const { rangeStart, rangeSize } = this.options;
    const inRange = (port: number): boolean => port >= rangeStart && port < rangeStart + rangeSize;
    const ports: number[] = [];
    if (preferred !== undefined && inRange(preferred) && !this.byPort.has(preferred)) ports.push(preferred);
    for (let port = rangeStart; port < rangeStart + rangeSize; port += 1) {
      if (port !== preferred && !this.byPort.has(port)) ports.push(port);
    }
    return ports;
  }

  private async listenSomewhere(nodeName: string, preferred: number | undefined): Promise<number> {
    for (const port of this.candidates(preferred)) {
      if (this.byPort.has(port)) continue;
      // reserve before the await, so a concurrent allocation skips it
      this.byPort.set(port, nodeName);
      const sockets = new Set<Socket>();
      const server = createServer({ pauseOnConnect: false }, (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        this.options.onConnection(socket, nodeName);
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, this.options.bindAddress, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        this.byPort.delete(port);
        // taken by another process: try the next one
        if ((error as { code?: string }).code === 'EADDRINUSE' || (error as { code?: string }).code === 'EACCES') continue;
        throw error;
      }
      this.byNode.set(nodeName, { port, server, sockets });
      return port;
    }
    throw new PortRangeExhaustedError(nodeName, this.options.rangeStart, this.options.rangeSize);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
  });
}
