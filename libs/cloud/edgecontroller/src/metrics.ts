// What an operator watches on the cloud→edge sync: how much waits, what went down, what came back.
import { Counter, Gauge, type Registry } from 'prom-client';

export class EdgeControllerMetrics {
  readonly queueDepth: Gauge<'node'>;
  readonly sent: Counter<'operation' | 'type'>;
  readonly acked: Counter;
  readonly resent: Counter;
  readonly upstream: Counter<'type' | 'result'>;
  readonly refused: Counter<'reason'>;
  readonly informerRestarts: Counter<'resource'>;
  /** read at scrape time: the depth of every live node queue */
  depthSource: (() => Iterable<[string, number]>) | undefined;

  constructor(private readonly registry: Registry) {
    const registers = [registry];
    const depthOf = (): Iterable<[string, number]> => this.depthSource?.() ?? [];
    this.queueDepth = new Gauge({
      name: 'kedge_edgecontroller_queue_depth',
      help: 'Messages for a node not yet acknowledged (queued, waiting behind an older version, or in flight)',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const [node, depth] of depthOf()) this.set({ node }, depth);
      },
    });
    this.sent = new Counter({
      name: 'kedge_edgecontroller_sent_total',
      help: 'Objects sent down to edge nodes (first sends; resends are counted apart)',
      labelNames: ['operation', 'type'],
      registers,
    });
    this.acked = new Counter({ name: 'kedge_edgecontroller_acked_total', help: 'Down messages the edge acknowledged', registers });
    this.resent = new Counter({
      name: 'kedge_edgecontroller_resent_total',
      help: 'Down messages sent again because no acknowledgement came in time',
      registers,
    });
    this.upstream = new Counter({
      name: 'kedge_edgecontroller_upstream_total',
      help: 'Messages from edges handled, by resource type and result (ok, error, refused)',
      labelNames: ['type', 'result'],
      registers,
    });
    this.refused = new Counter({
      name: 'kedge_edgecontroller_refused_total',
      help: 'Upstream messages refused, by reason (foreign-node, pod-not-bound, not-referenced, invalid, ...)',
      labelNames: ['reason'],
      registers,
    });
    this.informerRestarts = new Counter({
      name: 'kedge_edgecontroller_informer_restarts_total',
      help: 'Informers restarted after a list or watch error',
      labelNames: ['resource'],
      registers,
    });
  }

  /** Takes this controller's metrics out of the registry (so a new controller can register them). */
  unregister(): void {
    for (const name of [
      'kedge_edgecontroller_queue_depth',
      'kedge_edgecontroller_sent_total',
      'kedge_edgecontroller_acked_total',
      'kedge_edgecontroller_resent_total',
      'kedge_edgecontroller_upstream_total',
      'kedge_edgecontroller_refused_total',
      'kedge_edgecontroller_informer_restarts_total',
    ]) {
      this.registry.removeSingleMetric(name);
    }
  }
}
