// What an operator watches on a gateway: is the cloud link up, how often it drops, what flows.
import { Counter, Gauge, type Registry } from 'prom-client';

export class EdgeHubMetrics {
  readonly connected: Gauge;
  readonly connects: Counter;
  readonly dialFailures: Counter;
  readonly messages: Counter<'direction' | 'operation'>;
  readonly badFrames: Counter;
  readonly refusedMessages: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connected = new Gauge({ name: 'kedge_edgehub_connected', help: '1 while the link to cloudcore is up', registers });
    this.connects = new Counter({ name: 'kedge_edgehub_connects_total', help: 'Links to cloudcore established (the first and every reconnect)', registers });
    this.dialFailures = new Counter({ name: 'kedge_edgehub_dial_failures_total', help: 'Failed attempts to reach cloudcore', registers });
    this.messages = new Counter({
      name: 'kedge_edgehub_messages_total',
      help: 'Messages between this edge and cloudcore, by direction (up = edge to cloud) and operation',
      labelNames: ['direction', 'operation'],
      registers,
    });
    this.badFrames = new Counter({ name: 'kedge_edgehub_bad_frames_total', help: 'Frames from the cloud that failed validation', registers });
    this.refusedMessages = new Counter({
      name: 'kedge_edgehub_refused_messages_total',
      help: 'Messages from the cloud that no edge module handled',
      labelNames: ['reason'],
      registers,
    });
  }
}
