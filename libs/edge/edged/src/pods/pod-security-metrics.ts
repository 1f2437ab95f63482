// Prometheus metrics of what edged refused to run, so an attack (or a pod written for a laxer node) shows
// on a dashboard and not only in one pod's status.
import { Counter, Registry } from 'prom-client';
import type { RefusalReason } from './pod-security';

export class PodSecurityMetrics {
  readonly refused: Counter<'reason'>;

  constructor(registry: Registry = new Registry()) {
    this.refused = new Counter({
      name: 'kedge_edged_pod_security_refused_total',
      help: 'Pods and containers edged refused to run, once per pod and refusal, by reason (privileged, hostNetwork, hostNamespace, hostPath, capabilities, seccomp, unsupported: a setting edged cannot honour, unsafePath: ".." or absolute volume paths, subPathEscape: a subPath or hostPath leaving its volume through a symlink, runAsNonRoot)',
      labelNames: ['reason'],
      registers: [registry],
    });
  }

  count(reason: RefusalReason): void {
    this.refused.inc({ reason });
  }
}
