// A simulated device for demos and benchmarks. Visitor configData: `{kind: 'randomWalk' | 'setpoint' | 'constant',
// initial?, step?}`. randomWalk moves by up to ±step per read within the model's minimum..maximum; setpoint holds the
// last written value. `setReachable(false)` makes it fail like an unplugged device.
import type { ProtocolDriver, RawValue } from '../driver';
import { MapperError } from '../errors';
import type { PropertyVisitor } from '../model';

const KINDS = ['randomWalk', 'setpoint', 'constant'];

export class VirtualDriver implements ProtocolDriver {
  readonly protocolName = 'virtual';
  private readonly values = new Map<string, RawValue>();
  private reachable = true;
  private open = false;
  private readonly random: () => number;

  constructor(_protocolConfig: Record<string, unknown>, private readonly device: string, options: { random?: () => number } = {}) {
    this.random = options.random ?? Math.random;
  }

  setReachable(reachable: boolean): void {
    this.reachable = reachable;
    if (!reachable) this.open = false;
  }

  validate(visitor: PropertyVisitor): void {
    const kind = visitor.configData.kind ?? 'randomWalk';
    if (typeof kind !== 'string' || !KINDS.includes(kind)) {
      throw new MapperError('CONFIG_INVALID', `kind ${String(kind)} is not one of ${KINDS.join(', ')}`, {
        device: visitor.device,
        property: visitor.property.name,
        field: 'visitors.configData.kind',
      });
    }
  }

  async connect(): Promise<void> {
    if (!this.reachable) throw new MapperError('CONNECT_FAILED', 'virtual device unreachable', { device: this.device });
    this.open = true;
  }

  private initial(visitor: PropertyVisitor): RawValue {
    const { property, configData } = visitor;
    if (configData.initial !== undefined) return configData.initial as RawValue;
    if (property.type === 'boolean') return false;
    if (property.type === 'string') return '';
    const lo = property.minimum ?? 0;
    const hi = property.maximum ?? lo + 100;
    return (lo + hi) / 2;
  }

  async read(visitor: PropertyVisitor): Promise<RawValue> {
    if (!this.open) throw new MapperError('NOT_CONNECTED', 'virtual device offline', { device: this.device, property: visitor.property.name });
    const name = visitor.property.name;
    const current = this.values.get(name) ?? this.initial(visitor);
    let next = current;
    if ((visitor.configData.kind ?? 'randomWalk') === 'randomWalk' && typeof current === 'number') {
      const step = typeof visitor.configData.step === 'number' ? visitor.configData.step : 0.5;
      const lo = visitor.property.minimum ?? -Infinity;
      const hi = visitor.property.maximum ?? Infinity;
      next = Math.min(hi, Math.max(lo, current + (this.random() * 2 - 1) * step));
    }
    this.values.set(name, next);
    return next;
  }

  async write(visitor: PropertyVisitor, value: RawValue): Promise<void> {
    if (!this.open) throw new MapperError('NOT_CONNECTED', 'virtual device offline', { device: this.device, property: visitor.property.name });
    this.values.set(visitor.property.name, value);
  }

  async close(): Promise<void> {
    this.open = false;
  }
}
