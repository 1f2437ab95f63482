// The metrics-server part of the embedded API server: every interval it scrapes /metrics/resource of
// every Node through the source function (the node's kubelet endpoint, or cloudstream's node queries),
// parses it and keeps the last two points per node and container. A failed or garbled scrape is counted,
// logged (at most once a minute per node) and leaves that node's old points in place; it never throws.
import { Counter, Registry } from 'prom-client';
import type { Logger } from '@kedge/telemetry';
import { parsePrometheusText } from './prometheus-text';
import { usagePointsOf, UsageStore } from './usage-points';

export type NodeResourceMetricsSource = (nodeName: string) => Promise<string>;

export interface MetricsScraperOptions {
  source: NodeResourceMetricsSource;
  /** the names of the nodes to scrape, read at every round */
  nodeNames: () => string[];
  /** default 15 s, as metrics-server's --metric-resolution */
  intervalMs?: number;
  logger: Logger;
  registry?: Registry | undefined;
  now?: () => number;
}

const LOG_EVERY_MS = 60_000;

export class MetricsScraper {
  readonly store = new UsageStore();
  private readonly scrapes: Counter<'result'>;
  private readonly inFlight = new Set<string>();
  private readonly lastLogged = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;

  constructor(private readonly options: MetricsScraperOptions) {
    this.scrapes = new Counter({
      name: 'kedge_apiserver_metrics_scrapes_total',
      help: 'Scrapes of nodes\' /metrics/resource for metrics.k8s.io, by result (ok, source-error, parse-error)',
      labelNames: ['result'],
      registers: [options.registry ?? new Registry()],
    });
  }

  start(): void {
    if (this.timer) return;
    this.round = this.scrapeAll();
    this.timer = setInterval(() => {
      this.round = this.scrapeAll();
    }, this.options.intervalMs ?? 15_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round over every node; resolves when each scrape has ended. Never rejects. */
  async scrapeAll(): Promise<void> {
    let names: string[];
    try {
      names = this.options.nodeNames();
    } catch (error) {
      this.options.logger.warn({ err: error }, 'metrics scraper could not list the nodes');
      return;
    }
    this.store.forgetNodesExcept(new Set(names));
    await Promise.all(names.filter((name) => !this.inFlight.has(name)).map((name) => this.scrape(name)));
  }

  private async scrape(nodeName: string): Promise<void> {
    this.inFlight.add(nodeName);
    const now = this.options.now ?? Date.now;
    try {
      let text: string;
      try {
        text = await this.options.source(nodeName);
      } catch (error) {
        this.fail(nodeName, 'source-error', `cannot scrape /metrics/resource of node ${nodeName}: ${(error as Error).message}`);
        return;
      }
      let scrape;
      try {
        scrape = usagePointsOf(parsePrometheusText(text), now());
      } catch (error) {
        this.fail(nodeName, 'parse-error', `node ${nodeName} answered /metrics/resource with text that is not Prometheus text: ${(error as Error).message}`);
        return;
      }
      this.store.record(nodeName, scrape);
      this.scrapes.inc({ result: 'ok' });
    } finally {
      this.inFlight.delete(nodeName);
    }
  }

  private fail(nodeName: string, result: 'source-error' | 'parse-error', message: string): void {
    this.scrapes.inc({ result });
    const now = (this.options.now ?? Date.now)();
    const last = this.lastLogged.get(nodeName);
    if (last !== undefined && now - last < LOG_EVERY_MS) return;
    this.lastLogged.set(nodeName, now);
    this.options.logger.warn({ nodeName, result }, `${message}; keeping its previous points`);
  }
}
