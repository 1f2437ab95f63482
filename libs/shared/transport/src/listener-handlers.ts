// The handler lists behind HubListener.onConnection / onRefused, shared by both listeners.
import type { Connection } from './connection';

/** Why an attempt was refused, coarse enough to be a metric label. */
export type RefusalCategory =
  | 'tls-handshake'
  | 'certificate'
  | 'identity'
  | 'request'
  /** TLS, the WebSocket upgrade or the QUIC stream did not arrive within handshakeTimeoutMs */
  | 'handshake-timeout'
  /** the source IP already holds connectionLimits.maxConnectionsPerIp connections */
  | 'per-ip-connections'
  /** the source IP opens connections faster than connectionLimits.newConnectionsPerIpPerSecond */
  | 'per-ip-rate'
  | 'shutdown';

export interface Refusal {
  remoteAddress: string;
  reason: string;
  category: RefusalCategory;
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

  refused(remoteAddress: string, reason: string, category: RefusalCategory): void {
    for (const handler of this.refusedHandlers) handler({ remoteAddress, reason, category });
  }
}
