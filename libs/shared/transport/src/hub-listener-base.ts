// What the three hub listeners share once a transport accepted and authenticated an edge: the handler
// lists, the set of open links, and shut-down-exactly-once.
import type { Connection, HubListener, TransportKind } from './connection';
import { ListenerHandlers } from './listener-handlers';
import type { Refusal } from './listener-handlers';

export abstract class HubListenerBase implements HubListener {
  abstract readonly kind: TransportKind;
  abstract readonly port: number;
  protected readonly handlers = new ListenerHandlers();
  /** links handed out and not closed yet; closed by shutDown */
  protected readonly connections = new Set<Connection>();
  /** set by the first close(); a listener shutting down refuses what still arrives */
  protected closing: Promise<void> | undefined;

  onConnection(handler: (connection: Connection) => void): void {
    this.handlers.onConnection(handler);
  }

  onRefused(handler: (refusal: Refusal) => void): void {
    this.handlers.onRefused(handler);
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** Stops listening and closes every link; called once, by close(). */
  protected abstract shutDown(): Promise<void>;

  protected closeLinks(): Promise<void> {
    return Promise.all([...this.connections].map((connection) => connection.close('hub listener closing'))).then(() => undefined);
  }

  /**
   * Tracks an accepted link and hands it to the connection handlers; false (and the link is closed)
   * when the listener is shutting down or nobody listens, so no link leaks.
   */
  protected handOver(connection: Connection): boolean {
    this.connections.add(connection);
    connection.once('close', () => this.connections.delete(connection));
    if (this.closing !== undefined || !this.handlers.connection(connection)) {
      void connection.close(this.closing !== undefined ? 'hub listener closing' : 'no connection handler registered');
      return false;
    }
    return true;
  }
}
