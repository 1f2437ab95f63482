// A TCP proxy between an edge and cloudcore whose link a test can cut and restore, to play a bad
// network without stopping either process. While cut, open connections are destroyed and new ones
// are accepted and then black-holed (held open, nothing forwarded), like a dead route.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  /** the client side only: how many connections the target sees through the proxy */
  private readonly clients = new Set<Socket>();
  private cut = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<CuttableProxy> {
    const holder: { proxy?: CuttableProxy } = {};
    const server = createServer((client) => holder.proxy?.accept(client, targetHost, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.proxy = new CuttableProxy(server, (server.address() as AddressInfo).port);
    return holder.proxy;
  }

  private accept(client: Socket, host: string, port: number): void {
    this.sockets.add(client);
    this.clients.add(client);
    client.on('close', () => {
      this.sockets.delete(client);
      this.clients.delete(client);
    });
    client.on('error', () => undefined);
    if (this.cut) return; // black hole: hold the connection, forward nothing
    const upstream = connect(port, host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Connections open through the proxy right now. */
  get openClients(): number {
    return this.clients.size;
  }

  /** Drop every connection and black-hole new ones. */
  cutLink(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restoreLink(): void {
    this.cut = false;
    // black-holed connections must go, so the edge dials again through a working path
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
