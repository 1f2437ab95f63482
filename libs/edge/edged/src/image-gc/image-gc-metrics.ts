// Prometheus metrics of edged's image garbage collection.
import { Counter, Gauge, Registry } from 'prom-client';

export type ImageGcRunResult = 'below-threshold' | 'freed' | 'insufficient' | 'error';

export class ImageGcMetrics {
  readonly runs: Counter<'result'>;
  readonly removedBytes: Counter;
  readonly usageRatio: Gauge;

  constructor(registry: Registry = new Registry()) {
    const registers = [registry];
    this.runs = new Counter({
      name: 'kedge_edged_image_gc_runs_total',
      help: 'Image GC periods, by result (below-threshold, freed, insufficient: not enough unused images old enough, error: the runtime or filesystem could not be read)',
      labelNames: ['result'],
      registers,
    });
    this.removedBytes = new Counter({ name: 'kedge_edged_image_gc_removed_bytes_total', help: 'Sizes of the images image GC removed, as the runtime reported them', registers });
    this.usageRatio = new Gauge({ name: 'kedge_edged_image_fs_usage_ratio', help: 'Used share (0..1) of the filesystem the runtime keeps images on, at the last image GC period', registers });
  }
}
