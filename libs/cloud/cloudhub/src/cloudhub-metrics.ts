// What an operator watches on a cloudcore: who is connected, what flows, what is refused.
import { Counter, Gauge, type Registry } from 'prom-client';

export class CloudHubMetrics {
  readonly connectedNodes: Gauge;
  readonly messages: Counter<'direction' | 'operation'>;
  readonly badFrames: Counter<'transport'>;
  readonly refusedConnections: Counter<'transport' | 'reason'>;
  readonly refusedMessages: Counter<'reason'>;
  readonly sessionsReplaced: Counter;
  readonly sessionsTimedOut: Counter;
  readonly sessionsDropped: Counter<'reason'>;
  readonly inboundPaused: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connectedNodes = new Gauge({ name: 'kedge_cloudhub_connected_nodes', help: 'Edge nodes with a live session', registers });
    this.messages = new Counter({
      name: 'kedge_cloudhub_messages_total',
      help: 'Messages between cloudhub and edge nodes, by direction (up = edge to cloud) and operation',
      labelNames: ['direction', 'operation'],
      registers,
    });
    this.badFrames = new Counter({
      name: 'kedge_cloudhub_bad_frames_total',
      help: 'Frames from edges that failed validation and were dropped',
      labelNames: ['transport'],
      registers,
    });
    this.refusedConnections = new Counter({
      name: 'kedge_cloudhub_refused_connections_total',
      help: 'Connections refused or closed by the hub (bad certificate, identity mismatch, revoked certificate, node limit, per-IP limits, handshake timeout, too many bad frames)',
      labelNames: ['transport', 'reason'],
      registers,
    });
    this.refusedMessages = new Counter({
      name: 'kedge_cloudhub_refused_messages_total',
      help: 'Well-formed messages refused (resource not the sender node, no module for the group)',
      labelNames: ['reason'],
      registers,
    });
    this.sessionsReplaced = new Counter({
      name: 'kedge_cloudhub_sessions_replaced_total',
      help: 'Sessions closed because the same node connected again',
      registers,
    });
    this.inboundPaused = new Counter({
      name: 'kedge_cloudhub_inbound_paused_total',
      help: 'Times reading from an edge was paused because it exceeded its message rate or in-flight limit (reason rate, in-flight)',
      labelNames: ['reason'],
      registers,
    });
    this.sessionsTimedOut = new Counter({
      name: 'kedge_cloudhub_sessions_timed_out_total',
      help: 'Sessions dropped because the node was silent past the keepalive timeout',
      registers,
    });
    this.sessionsDropped = new Counter({
      name: 'kedge_cloudhub_sessions_dropped_total',
      help: 'Live sessions closed because their certificate stopped being admitted (certificate-revoked)',
      labelNames: ['reason'],
      registers,
    });
  }
}
