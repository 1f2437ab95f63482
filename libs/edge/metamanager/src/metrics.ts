// Prometheus metrics of the metamanager. Object counts and outbox depth are read from SQLite at
// scrape time, so they are right after a restart without any bookkeeping.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MetaStore } from './store/meta-store';

export class MetaManagerMetrics {
  readonly applied: Counter<'operation' | 'result'>;
  readonly badMessages: Counter<'field'>;
  readonly outboxSent: Counter;
  readonly outboxFailures: Counter<'reason'>;
  readonly acksUnsent: Counter;

  constructor(registry: Registry, store: MetaStore) {
    new Gauge({
      name: 'kedge_metamanager_objects',
      help: 'Objects in the edge store, by edge resource type',
      labelNames: ['type'],
      registers: [registry],
      collect() {
        this.reset();
        if (store.closed) return;
        for (const [type, count] of store.countByType()) this.set({ type }, count);
      },
    });
    new Gauge({
      name: 'kedge_metamanager_outbox_depth',
      help: 'Status reports waiting in the outbox for the cloud to accept them',
      registers: [registry],
      collect() {
        if (!store.closed) this.set(store.outbox.depth());
      },
    });
    this.applied = new Counter({
      name: 'kedge_metamanager_applied_total',
      help: 'Down messages processed, by operation and result (created, updated, deleted, duplicate, stale, not-found)',
      labelNames: ['operation', 'result'],
      registers: [registry],
    });
    this.badMessages = new Counter({
      name: 'kedge_metamanager_bad_messages_total',
      help: 'Down messages refused with an error response and not stored, by the field at fault',
      labelNames: ['field'],
      registers: [registry],
    });
    this.outboxSent = new Counter({
      name: 'kedge_metamanager_outbox_sent_total',
      help: 'Status reports the cloud accepted (answered with a response) and that left the outbox',
      registers: [registry],
    });
    this.outboxFailures = new Counter({
      name: 'kedge_metamanager_outbox_failures_total',
      help: 'Status report sends that failed: rejected (error answer, dropped) or timeout (kept, retried with backoff)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.acksUnsent = new Counter({
      name: 'kedge_metamanager_acks_unsent_total',
      help: 'ACKs that could not be sent (link down); the cloud resends those messages after reconnect',
      registers: [registry],
    });
  }
}
