// CloudHub: holds one session per edge node, whatever transport it came in on, and moves messages
// between those sessions and the cloud modules. Identity is the certificate's; resources going up
// are prefixed with that node, resources going down must belong to it.
import {
  Group,
  Operation,
  ProtocolError,
  newErrorResponse,
  newMessage,
  newResponse,
  splitCloudResource,
  toCloudResource,
  type Message,
} from '@kedge/protocol';
import { NoRouteError, type MessageRouter } from '@kedge/router';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { TokenBucket, type Connection, type HubListener, type PeerIdentity } from '@kedge/transport';
import type { CloudHubMetrics } from './cloudhub-metrics';
import { NodeSession, type NodeSessionInfo } from './node-session';

export interface CloudHubOptions {
  router: MessageRouter;
  logger: Logger;
  metrics: CloudHubMetrics;
  /** a node silent for longer than this is dropped (KubeEdge: 30 s) */
  keepaliveTimeoutMs?: number;
  /** most concurrent node sessions; more are refused so one cloudcore cannot be overrun */
  nodeLimit?: number;
  /**
   * Whether a peer whose certificate the TLS layer verified may hold a session: undefined to admit
   * it, or why not (a revoked certificate). Asked on every connect and by revalidateSessions().
   */
  admitPeer?: (peer: PeerIdentity) => PeerRefusal | undefined;
  /** what one node may make cloudcore do; defaults in DEFAULT_INBOUND_LIMITS */
  inbound?: Partial<InboundLimits>;
  now?: () => number;
}

/** Why a verified peer is refused a session: a metric label and a message for the log and the edge. */
export interface PeerRefusal {
  reason: string;
  message: string;
}

/**
 * Per-node limits on what comes up from an edge, so that one edge cannot starve cloudcore or the
 * other edges. Exceeding the rate or the in-flight limit pauses reading from that edge's socket (its
 * TCP window or QUIC stream credit fills and the edge's own send queue pushes back); nothing is
 * buffered here and nothing valid is dropped. Bad frames are different: they are the edge's fault,
 * and an edge that keeps sending them is disconnected.
 */
export interface InboundLimits {
  /** sustained messages per second read from one node (keepalives included) */
  messagesPerSecond: number;
  /** messages one node may send at once before the rate applies */
  messageBurst: number;
  /** messages of one node being handled by cloud modules at once; beyond it reading pauses until one finishes */
  maxInFlight: number;
  /** undecodable, oversized or misrouted frames from one node within a minute that close its connection */
  maxBadFramesPerMinute: number;
}

export const DEFAULT_INBOUND_LIMITS: InboundLimits = {
  messagesPerSecond: 200,
  messageBurst: 1_000,
  maxInFlight: 256,
  maxBadFramesPerMinute: 20,
};

const BAD_FRAME_WINDOW_MS = 60_000;

export type NodeConnectionEvent =
  | { type: 'connected'; nodeName: string; transport: string }
  | { type: 'disconnected'; nodeName: string; reason: string };

export class NodeNotConnectedError extends Error {
  override readonly name = 'NodeNotConnectedError';
  constructor(readonly nodeName: string) {
    super(`edge node "${nodeName}" has no live session with this cloudcore; the message was not sent`);
  }
}

/** The source name cloudhub puts on messages it builds itself. */
export const CLOUDHUB_SOURCE = 'cloudhub';

export class CloudHub {
  private readonly sessions = new Map<string, NodeSession>();
  private readonly listeners: HubListener[] = [];
  private readonly connectionObservers = new Set<(event: NodeConnectionEvent) => void>();
  private readonly logThrottle = new LogThrottle();
  private readonly keepaliveTimeoutMs: number;
  private readonly nodeLimit: number;
  private readonly inbound: InboundLimits;
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly sweepEveryMs: number;
  private lastSweepAt: number;
  private closing = false;

  constructor(private readonly options: CloudHubOptions) {
    this.keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 30_000;
    this.nodeLimit = options.nodeLimit ?? 1_000;
    this.inbound = { ...DEFAULT_INBOUND_LIMITS, ...options.inbound };
    for (const [field, value] of Object.entries(this.inbound)) {
      if (!Number.isFinite(value) || value <= 0) throw new RangeError(`cloudhub inbound.${field} must be a positive number, got ${String(value)}`);
    }
    this.now = options.now ?? Date.now;
    this.sweepEveryMs = Math.max(100, Math.min(5_000, Math.floor(this.keepaliveTimeoutMs / 3)));
    this.lastSweepAt = this.now();
    this.sweepTimer = setInterval(() => this.dropSilentSessions(), this.sweepEveryMs);
    this.sweepTimer.unref();
  }

  /** Take edge connections from a listener; cloudhub closes it on close(). */
  attach(listener: HubListener): void {
    this.listeners.push(listener);
    listener.onConnection((connection) => this.accept(connection));
    listener.onRefused(({ remoteAddress, reason, category }) => {
      this.options.metrics.refusedConnections.inc({ transport: listener.kind, reason: category });
      this.logThrottle.run(`refused:${remoteAddress}`, (suppressed) =>
        this.options.logger.warn({ transport: listener.kind, remoteAddress, reason, suppressed }, 'edge connection refused'),
      );
    });
  }

  onNodeConnection(observer: (event: NodeConnectionEvent) => void): () => void {
    this.connectionObservers.add(observer);
    return () => this.connectionObservers.delete(observer);
  }

  isConnected(nodeName: string): boolean {
    return this.sessions.has(nodeName);
  }

  /**
   * Asks admitPeer again about every live session and closes those it now refuses (a certificate
   * revoked since the node connected); returns the nodes dropped.
   */
  revalidateSessions(): string[] {
    const admitPeer = this.options.admitPeer;
    if (admitPeer === undefined) return [];
    const dropped: string[] = [];
    for (const session of this.sessions.values()) {
      if (session.connection.closed) continue;
      const refusal = this.askAdmission(admitPeer, session.connection.peer);
      if (refusal === undefined) continue;
      dropped.push(session.nodeName);
      this.options.metrics.sessionsDropped.inc({ reason: refusal.reason });
      this.options.logger.warn({ nodeName: session.nodeName, reason: refusal.reason, error: refusal.message }, 'dropping a live session: its certificate is no longer admitted');
      void session.connection.close(refusal.message);
    }
    return dropped;
  }

  listSessions(): NodeSessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  /** Send a message whose resource is in cloud form `node/<node>/...` to that node. */
  async sendToNode(message: Message): Promise<void> {
    // parsed once: the node picks the session, the rest is the edge's key
    const { node, edgeResource } = splitCloudResource(message.route.resource);
    const session = this.sessions.get(node);
    if (!session) throw new NodeNotConnectedError(node);
    const edgeMessage: Message = { ...message, route: { ...message.route, resource: edgeResource } };
    await session.send(edgeMessage);
    this.options.metrics.messages.inc({ direction: 'down', operation: message.route.operation });
  }

  /** Round trip to a node through its session; resolves with the latency in milliseconds. */
  async ping(nodeName: string, timeoutMs = 10_000): Promise<number> {
    const started = performance.now();
    const ping = newMessage({
      source: CLOUDHUB_SOURCE,
      group: Group.Hub,
      operation: 'ping',
      resource: `node/${nodeName}/null/node/${nodeName}`,
      content: null,
      sync: true,
    });
    await this.options.router.request(ping, { timeoutMs, send: (m) => this.sendToNode(m) });
    return performance.now() - started;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    await Promise.allSettled(this.listeners.map((l) => l.close()));
    await Promise.allSettled([...this.sessions.values()].map((s) => s.connection.close('cloudcore is shutting down')));
    this.sessions.clear();
    this.options.metrics.connectedNodes.set(0);
  }

  private accept(connection: Connection): void {
    const { logger, metrics } = this.options;
    const nodeName = connection.peer.nodeName;
    if (!nodeName || this.closing) {
      void connection.close(this.closing ? 'cloudcore is shutting down' : 'no node identity in the client certificate');
      return;
    }
    const refusal = this.options.admitPeer === undefined ? undefined : this.askAdmission(this.options.admitPeer, connection.peer);
    if (refusal !== undefined) {
      // refused before the session exists: nothing it sends is read, no observer hears of it
      metrics.refusedConnections.inc({ transport: connection.kind, reason: refusal.reason });
      this.logThrottle.run(`admission:${nodeName}`, (suppressed) =>
        logger.warn({ nodeName, transport: connection.kind, remoteAddress: connection.remoteAddress, reason: refusal.reason, error: refusal.message, suppressed }, 'edge connection refused'),
      );
      void connection.close(refusal.message);
      return;
    }
    const previous = this.sessions.get(nodeName);
    if (!previous && this.sessions.size >= this.nodeLimit) {
      metrics.refusedConnections.inc({ transport: connection.kind, reason: 'node-limit' });
      logger.error({ nodeName, nodeLimit: this.nodeLimit }, 'node limit reached; raise cloudHub.nodeLimit or add a cloudcore');
      void connection.close(`node limit ${this.nodeLimit} reached`);
      return;
    }
    const session = new NodeSession(nodeName, connection, this.now(), new TokenBucket(this.inbound.messagesPerSecond, this.inbound.messageBurst));
    this.sessions.set(nodeName, session);
    if (previous) {
      metrics.sessionsReplaced.inc();
      logger.info({ nodeName, transport: connection.kind }, 'node connected again; closing its previous session');
      void previous.connection.close('replaced by a newer connection from the same node');
    }
    metrics.connectedNodes.set(this.sessions.size);
    connection.on('message', (message) => this.admit(session, message));
    connection.on('badFrame', (error) => {
      session.lastSeenAt = this.now();
      metrics.badFrames.inc({ transport: connection.kind });
      this.logThrottle.run(`bad-frame:${nodeName}`, (suppressed) =>
        logger.warn({ nodeName, error: error.message, suppressed }, 'dropped a bad frame from edge'),
      );
      this.countBadFrame(session, `bad frame: ${error.message}`);
    });
    connection.on('close', ({ reason }) => {
      clearTimeout(session.rateTimer);
      this.forget(session, reason);
    });
    logger.info({ nodeName, transport: connection.kind, remoteAddress: connection.remoteAddress }, 'node connected');
    if (!previous) this.notify({ type: 'connected', nodeName, transport: connection.kind });
  }

  // a failing check refuses: an admission rule that cannot be evaluated must not let a peer in
  private askAdmission(admitPeer: (peer: PeerIdentity) => PeerRefusal | undefined, peer: PeerIdentity): PeerRefusal | undefined {
    try {
      return admitPeer(peer);
    } catch (error) {
      this.options.logger.error({ nodeName: peer.nodeName, error: (error as Error).message }, 'admission check failed; refusing the session');
      return { reason: 'admission-check-failed', message: `cloudcore could not check this certificate: ${(error as Error).message}` };
    }
  }

  private forget(session: NodeSession, reason: string): void {
    // a replaced session closes after its successor took its place: leave the successor alone
    if (this.sessions.get(session.nodeName) !== session) return;
    this.sessions.delete(session.nodeName);
    this.options.metrics.connectedNodes.set(this.sessions.size);
    this.options.logger.info({ nodeName: session.nodeName, reason }, 'node disconnected');
    this.notify({ type: 'disconnected', nodeName: session.nodeName, reason });
  }

  private notify(event: NodeConnectionEvent): void {
    for (const observer of this.connectionObservers) {
      try {
        observer(event);
      } catch (error) {
        this.options.logger.error({ error, event }, 'node connection observer failed');
      }
    }
  }

  /** Charges the node's rate and in-flight budgets for one message, pausing its socket when they run out. */
  private admit(session: NodeSession, message: Message): void {
    const { connection } = session;
    session.bucket.spend();
    if (!session.bucket.available && session.rateTimer === undefined) {
      // the message is here and is handled; the socket waits until the rate allows the next one
      this.pauseInbound(session, 'rate');
      const resume = (): void => {
        const wait = session.bucket.msUntilToken();
        if (wait > 0 && !connection.closed) {
          session.rateTimer = setTimeout(resume, wait);
          return;
        }
        session.rateTimer = undefined;
        connection.resumeReading('rate');
      };
      session.rateTimer = setTimeout(resume, session.bucket.msUntilToken());
    }
    session.inFlight += 1;
    if (session.inFlight >= this.inbound.maxInFlight && !session.inFlightPaused) {
      session.inFlightPaused = true;
      this.pauseInbound(session, 'in-flight');
    }
    void this.receive(session, message).finally(() => {
      session.inFlight -= 1;
      if (session.inFlightPaused && session.inFlight < this.inbound.maxInFlight) {
        session.inFlightPaused = false;
        connection.resumeReading('in-flight');
      }
    });
  }

  private pauseInbound(session: NodeSession, reason: 'rate' | 'in-flight'): void {
    session.connection.pauseReading(reason);
    this.options.metrics.inboundPaused.inc({ reason });
    this.logThrottle.run(`paused:${reason}:${session.nodeName}`, (suppressed) =>
      this.options.logger.warn(
        { nodeName: session.nodeName, reason, limits: this.inbound, suppressed },
        reason === 'rate'
          ? 'edge sends faster than cloudHub.inbound.messagesPerSecond; reading from it is paused'
          : 'edge has cloudHub.inbound.maxInFlight messages being handled; reading from it is paused',
      ),
    );
  }

  /** A frame the edge should never have sent; too many within a minute close its connection. */
  private countBadFrame(session: NodeSession, what: string): void {
    const now = this.now();
    const recent = session.badFrameTimes.filter((at) => now - at < BAD_FRAME_WINDOW_MS);
    recent.push(now);
    session.badFrameTimes = recent;
    if (recent.length < this.inbound.maxBadFramesPerMinute || session.connection.closed) return;
    const limit = this.inbound.maxBadFramesPerMinute;
    this.options.metrics.refusedConnections.inc({ transport: session.connection.kind, reason: 'bad-frames' });
    this.options.logger.warn(
      { nodeName: session.nodeName, badFrames: recent.length, limit, last: what },
      'edge sent too many bad frames within a minute; closing its connection (see cloudHub.inbound.maxBadFramesPerMinute)',
    );
    void session.connection.close(`${recent.length} bad frames within 60 s (limit ${limit}); last: ${what}`.slice(0, 200));
  }

  private async receive(session: NodeSession, message: Message): Promise<void> {
    const { metrics, logger, router } = this.options;
    session.lastSeenAt = this.now();
    session.messagesIn += 1;
    const { operation, group } = message.route;
    metrics.messages.inc({ direction: 'up', operation });
    if (operation === Operation.Keepalive) return;
    if (group === Group.Hub && operation === 'ping') {
      await this.reply(session, newResponse(message, 'pong', CLOUDHUB_SOURCE));
      return;
    }
    let cloudMessage: Message;
    try {
      cloudMessage = { ...message, route: { ...message.route, resource: toCloudResource(session.nodeName, message.route.resource) } };
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      metrics.refusedMessages.inc({ reason: 'invalid-resource' });
      this.countBadFrame(session, `invalid resource ${JSON.stringify(message.route.resource.slice(0, 64))}`);
      this.logThrottle.run(`resource:${session.nodeName}`, (suppressed) =>
        logger.warn({ nodeName: session.nodeName, resource: message.route.resource, error: error.message, suppressed }, 'refused message'),
      );
      await this.refuse(session, message, `resource refused: ${error.message}`);
      return;
    }
    try {
      await router.dispatch(cloudMessage);
    } catch (error) {
      const reason = error instanceof NoRouteError ? 'no-route' : 'module-error';
      metrics.refusedMessages.inc({ reason });
      if (reason === 'no-route') this.countBadFrame(session, `no module for group ${JSON.stringify(group)}`);
      this.logThrottle.run(`${reason}:${session.nodeName}:${group}`, (suppressed) =>
        logger.warn({ nodeName: session.nodeName, group, operation, error: (error as Error).message, suppressed }, 'message not handled'),
      );
      await this.refuse(session, message, (error as Error).message);
    }
  }

  /** Tell the edge why its message went nowhere; never answer an answer (that could loop). */
  private async refuse(session: NodeSession, message: Message, reason: string): Promise<void> {
    if (message.route.operation === Operation.Response || message.route.operation === Operation.Error) return;
    await this.reply(session, newErrorResponse(message, reason, CLOUDHUB_SOURCE));
  }

  private async reply(session: NodeSession, message: Message): Promise<void> {
    try {
      await session.send(message);
      this.options.metrics.messages.inc({ direction: 'down', operation: message.route.operation });
    } catch (error) {
      this.options.logger.debug({ nodeName: session.nodeName, error: (error as Error).message }, 'reply not sent');
    }
  }

  private dropSilentSessions(): void {
    const now = this.now();
    // A sweep that runs late means this process stalled (a burst of work, a long GC, a starved CPU):
    // timers run before sockets are read, so keepalives that came meanwhile are still unread. That
    // stall is not the edges' silence: it is forgiven, and the next sweep judges after the reads.
    const stalledMs = Math.max(0, now - this.lastSweepAt - this.sweepEveryMs);
    this.lastSweepAt = now;
    for (const session of this.sessions.values()) {
      // a session being closed stays listed until its socket is gone (up to the close grace with a
      // dead peer); it was timed out already and must not be counted and closed again each sweep
      if (session.connection.closed || now - session.lastSeenAt - stalledMs <= this.keepaliveTimeoutMs) continue;
      this.options.metrics.sessionsTimedOut.inc();
      this.options.logger.warn(
        { nodeName: session.nodeName, silentMs: now - session.lastSeenAt },
        'node silent past the keepalive timeout; dropping its session',
      );
      void session.connection.close('keepalive timeout');
    }
  }
}
