// Counters of the kubelet API cloudcore serves: requests by path kind and code, refusals by reason.
import { Counter, Gauge, Registry } from 'prom-client';

export class KubeletApiMetrics {
  readonly requests: Counter<'kind' | 'code'>;
  readonly refused: Counter<'reason'>;
  readonly nodePorts: Gauge;

  constructor(registry: Registry = new Registry()) {
    this.requests = new Counter({
      name: 'kedge_kubelet_api_requests_total',
      help: 'Requests to the kubelet API cloudcore serves for edge nodes, by path kind and HTTP status',
      labelNames: ['kind', 'code'],
      registers: [registry],
    });
    this.refused = new Counter({
      name: 'kedge_kubelet_api_refused_total',
      help: 'Kubelet API requests refused, by reason (no-credentials, bad-certificate, bad-token, forbidden, wrong-node, no-session, ...)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.nodePorts = new Gauge({
      name: 'kedge_kubelet_api_node_ports',
      help: 'Ports of the kubelet API allocated to edge nodes',
      registers: [registry],
    });
  }
}
