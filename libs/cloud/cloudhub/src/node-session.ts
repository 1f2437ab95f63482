// One live link to one edge node. The node name comes from the verified client certificate.
import type { Message } from '@kedge/protocol';
import type { Connection, TokenBucket, TransportKind } from '@kedge/transport';

export interface NodeSessionInfo {
  nodeName: string;
  transport: TransportKind;
  remoteAddress: string;
  connectedAt: string;
  lastSeenAt: string;
  messagesIn: number;
  messagesOut: number;
}

export class NodeSession {
  readonly connectedAt: number;
  lastSeenAt: number;
  messagesIn = 0;
  messagesOut = 0;
  /** messages of this node being handled by cloud modules */
  inFlight = 0;
  /** true while reading is paused because inFlight reached the limit */
  inFlightPaused = false;
  /** when recent bad frames arrived (the last minute's, at most the limit) */
  badFrameTimes: number[] = [];
  /** set while reading is paused for the rate; resumes it */
  rateTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly nodeName: string,
    readonly connection: Connection,
    now: number,
    /** the node's inbound message rate */
    readonly bucket: TokenBucket,
  ) {
    this.connectedAt = now;
    this.lastSeenAt = now;
  }

  async send(message: Message): Promise<void> {
    await this.connection.send(message);
    this.messagesOut += 1;
  }

  info(): NodeSessionInfo {
    return {
      nodeName: this.nodeName,
      transport: this.connection.kind,
      remoteAddress: this.connection.remoteAddress,
      connectedAt: new Date(this.connectedAt).toISOString(),
      lastSeenAt: new Date(this.lastSeenAt).toISOString(),
      messagesIn: this.messagesIn,
      messagesOut: this.messagesOut,
    };
  }
}
