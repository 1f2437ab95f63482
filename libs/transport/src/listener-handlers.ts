// The handler lists behind HubListener.onConnection / onRefused, shared by both listeners.
import type { Connection } from './connection';

export interface Refusal {
  remoteAddress: string;
  reason: string;
}

export class ListenerHandlers {
  private readonly connectionHandlers: ((connection: Connection) => void)[] = [];
  private readonly refusedHandlers: ((refusal: Refusal) => void)[] = [];

  onConnection(handler: (connection: Connection) => void): void {
    this.connectionHandlers.push(handler);
  }

  onRefused(handler: (refusal: Refusal) => void): void {
    this.refusedHandlers.push(handler);
  }

  /** false when nobody listens, so the caller can close the connection instead of leaking it */
  connection(connection: Connection): boolean {
    for (const handler of this.connectionHandlers) handler(connection);
    return this.connectionHandlers.length > 0;
  }

  refused(remoteAddress: string, reason: string): void {
    for (const handler of this.refusedHandlers) handler({ remoteAddress, reason });
  }
}
