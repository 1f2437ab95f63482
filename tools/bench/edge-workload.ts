// The objects the swarm and edge-scale benchmarks put on their simulated edges, and cloudcore's
// edge-controller counters that say when it has nothing left to send.
import type { V1Pod } from '@kubernetes/client-node';
import { prometheusSum } from '@kedge/testkit';

/** the configmap every benchmark pod takes its environment from, one per namespace */
export const CONFIGMAP = 'settings';

export interface PlannedPod {
  name: string;
  namespace: string;
  node: string;
}

/** A pod bound to its edge that takes its environment from its namespace's configmap (`envFrom`). */
export function podBody({ name, namespace, node }: PlannedPod): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'swarm' } },
    spec: {
      nodeName: node,
      containers: [
        {
          name: 'app',
          image: 'registry.local/swarm/app:1',
          envFrom: [{ configMapRef: { name: CONFIGMAP } }],
          resources: { requests: { cpu: '10m', memory: '16Mi' } },
        },
      ],
    },
  };
}

export interface ControllerCounters {
  sent: number;
  resent: number;
  acked: number;
  queued: number;
  connected: number;
}

/** The edge controller's and cloudhub's counters from cloudcore's /metrics. */
export async function controllerCounters(metricsPort: number): Promise<ControllerCounters> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const text = await response.text();
  return {
    sent: prometheusSum(text, 'kedge_edgecontroller_sent_total'),
    resent: prometheusSum(text, 'kedge_edgecontroller_resent_total'),
    acked: prometheusSum(text, 'kedge_edgecontroller_acked_total'),
    queued: prometheusSum(text, 'kedge_edgecontroller_queue_depth'),
    connected: prometheusSum(text, 'kedge_cloudhub_connected_nodes'),
  };
}
