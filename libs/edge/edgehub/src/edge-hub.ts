// EdgeHub: keeps the one outbound link from a gateway to cloudcore alive (dial, keepalive, reconnect
// with jittered backoff) and moves messages between it and the edge modules through the router.
import { Group, Operation, newErrorResponse, newMessage, newResponse, type Message } from '@kedge/protocol';
import { NoRouteError, type MessageRouter } from '@kedge/router';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { ReconnectingLink, type BackoffOptions, type Connection } from '@kedge/transport';
import type { EdgeHubMetrics } from './edgehub-metrics';

export interface EdgeHubOptions {
  nodeName: string;
  /** opens one authenticated link to cloudcore; called again for every reconnect */
  dial: () => Promise<Connection>;
  router: MessageRouter;
  logger: Logger;
  metrics: EdgeHubMetrics;
  /** how often to tell the cloud we are alive (KubeEdge: 15 s) */
  heartbeatMs?: number;
  backoff?: Partial<BackoffOptions>;
}

export class CloudUnreachableError extends Error {
  override readonly name = 'CloudUnreachableError';
  constructor(readonly resource: string) {
    super(`cloudcore is not connected; message for "${resource}" was not sent (queue it or retry after reconnect)`);
  }
}

export const EDGEHUB_SOURCE = 'edgehub';

export class EdgeHub {
  private readonly link: ReconnectingLink;
  private readonly observers = new Set<(connected: boolean) => void>();
  private readonly logThrottle = new LogThrottle();
  private heartbeat: NodeJS.Timeout | undefined;
  private connection: Connection | undefined;

  constructor(private readonly options: EdgeHubOptions) {
    const { logger, metrics } = options;
    this.link = new ReconnectingLink({ dial: options.dial, backoff: options.backoff });
    this.link.on('connected', (connection: Connection) => {
      this.connection = connection;
      metrics.connects.inc();
      metrics.connected.set(1);
      logger.info({ transport: connection.kind, cloud: connection.remoteAddress }, 'connected to cloudcore');
      connection.on('message', (message) => void this.receive(connection, message));
      connection.on('badFrame', (error) => {
        metrics.badFrames.inc();
        this.logThrottle.run('bad-frame', (suppressed) => logger.warn({ error: error.message, suppressed }, 'dropped a bad frame from cloudcore'));
      });
      this.startHeartbeat(connection);
      this.notify(true);
    });
    this.link.on('disconnected', (info: { reason: string }) => {
      this.connection = undefined;
      this.stopHeartbeat();
      metrics.connected.set(0);
      logger.warn({ reason: info.reason }, 'lost the link to cloudcore; reconnecting with backoff');
      this.notify(false);
    });
    this.link.on('dialFailed', (failure: { attempt: number; delayMs: number; error: Error }) => {
      metrics.dialFailures.inc();
      this.logThrottle.run('dial', (suppressed) =>
        logger.warn(
          { attempt: failure.attempt, retryInMs: Math.round(failure.delayMs), error: failure.error.message, suppressed },
          'cannot reach cloudcore; will retry',
        ),
      );
    });
  }

  start(): void {
    this.link.start();
  }

  async stop(): Promise<void> {
    this.stopHeartbeat();
    await this.link.stop();
    this.connection = undefined;
    this.options.metrics.connected.set(0);
  }

  /** Drop the current link so the next one is dialled afresh (e.g. with a rotated certificate). */
  async reconnect(): Promise<void> {
    await this.connection?.close('reconnecting on request');
  }

  get connected(): boolean {
    return this.connection !== undefined && !this.connection.closed;
  }

  /** Observe link changes (modules flush outboxes on true, switch to local answers on false). */
  onConnectionChange(observer: (connected: boolean) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Send a message (edge-form resource) to the cloud; rejects with CloudUnreachableError when offline. */
  async send(message: Message): Promise<void> {
    const connection = this.connection;
    if (!connection || connection.closed) throw new CloudUnreachableError(message.route.resource);
    await connection.send(message);
    this.options.metrics.messages.inc({ direction: 'up', operation: message.route.operation });
  }

  /** Round trip to cloudcore; resolves with the latency in milliseconds. */
  async ping(timeoutMs = 10_000): Promise<number> {
    const started = performance.now();
    const ping = newMessage({
      source: EDGEHUB_SOURCE,
      group: Group.Hub,
      operation: 'ping',
      resource: this.nodeResource(),
      content: null,
      sync: true,
    });
    await this.options.router.request(ping, { timeoutMs, send: (m) => this.send(m) });
    return performance.now() - started;
  }

  private nodeResource(): string {
    return `null/node/${this.options.nodeName}`;
  }

  private startHeartbeat(connection: Connection): void {
    this.stopHeartbeat();
    const beat = (): void => {
      const keepalive = newMessage({
        source: EDGEHUB_SOURCE,
        group: Group.Resource,
        operation: Operation.Keepalive,
        resource: this.nodeResource(),
        content: 'ping',
      });
      connection.send(keepalive).then(
        () => this.options.metrics.messages.inc({ direction: 'up', operation: Operation.Keepalive }),
        () => undefined, // a dead link shows up as 'disconnected'; nothing to add here
      );
    };
    beat();
    this.heartbeat = setInterval(beat, this.options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private notify(connected: boolean): void {
    for (const observer of this.observers) {
      try {
        observer(connected);
      } catch (error) {
        this.options.logger.error({ error }, 'connection observer failed');
      }
    }
  }

  private async receive(connection: Connection, message: Message): Promise<void> {
    const { metrics, router, logger } = this.options;
    const { group, operation } = message.route;
    metrics.messages.inc({ direction: 'down', operation });
    if (group === Group.Hub && operation === 'ping') {
      await this.reply(connection, newResponse(message, 'pong', EDGEHUB_SOURCE));
      return;
    }
    try {
      await router.dispatch(message);
    } catch (error) {
      const reason = error instanceof NoRouteError ? 'no-route' : 'module-error';
      metrics.refusedMessages.inc({ reason });
      this.logThrottle.run(`${reason}:${group}`, (suppressed) =>
        logger.warn({ group, operation, error: (error as Error).message, suppressed }, 'message from cloud not handled'),
      );
      if (operation !== Operation.Response && operation !== Operation.Error) {
        await this.reply(connection, newErrorResponse(message, (error as Error).message, EDGEHUB_SOURCE));
      }
    }
  }

  private async reply(connection: Connection, message: Message): Promise<void> {
    try {
      await connection.send(message);
      this.options.metrics.messages.inc({ direction: 'up', operation: message.route.operation });
    } catch {
      // the link went away while answering; the cloud re-asks after reconnect
    }
  }
}
