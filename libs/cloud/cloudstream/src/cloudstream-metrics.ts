// What an operator watches of kubectl streams to edge pods: streams by kind and how they ended, and
// frames refused as malformed (from kubectl, e.g. a broken port-forward SPDY frame, or from an edge).
import { Counter, Registry } from 'prom-client';

export class CloudStreamMetrics {
  readonly opened: Counter<'kind'>;
  readonly ended: Counter<'kind' | 'outcome'>;
  readonly refusedFrames: Counter<'kind' | 'reason'>;
  readonly portForwardSessions: Counter<'transport'>;

  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    this.opened = new Counter({ name: 'kedge_cloudstream_streams_opened_total', help: 'Streams opened to edge nodes, by kind (log, exec, attach, portforward)', labelNames: ['kind'], registers });
    this.ended = new Counter({
      name: 'kedge_cloudstream_streams_ended_total',
      help: 'Streams to edge nodes that ended, by kind and outcome (closed, failed, cancelled)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.refusedFrames = new Counter({
      name: 'kedge_cloudstream_refused_frames_total',
      help: 'Stream frames refused as malformed, by stream kind and reason',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.portForwardSessions = new Counter({
      name: 'kedge_cloudstream_portforward_sessions_total',
      help: 'kubectl port-forward sessions, by transport (websocket: SPDY tunnelled in a WebSocket; spdy: plain SPDY/3.1 upgrade)',
      labelNames: ['transport'],
      registers,
    });
  }
}
