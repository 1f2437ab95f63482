// What an operator watches of kubectl streams on a gateway: streams by kind and how they ended, and
// stream frames from the cloud that were refused as malformed.
import { Counter, Registry } from 'prom-client';

export class EdgeStreamMetrics {
  readonly opened: Counter<'kind'>;
  readonly ended: Counter<'kind' | 'outcome'>;
  readonly refusedFrames: Counter<'operation' | 'reason'>;

  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    this.opened = new Counter({ name: 'kedge_edgestream_streams_opened_total', help: 'Streams the cloud opened on this node, by kind (log, exec, attach, portforward)', labelNames: ['kind'], registers });
    this.ended = new Counter({
      name: 'kedge_edgestream_streams_ended_total',
      help: 'Streams that ended, by kind and outcome (closed, failed, cancelled)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.refusedFrames = new Counter({
      name: 'kedge_edgestream_refused_frames_total',
      help: 'stream-group messages from the cloud (operation open, data) or frames from the container runtime (operation runtime) refused as malformed, by operation and reason',
      labelNames: ['operation', 'reason'],
      registers,
    });
  }
}
