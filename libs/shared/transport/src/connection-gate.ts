// Admission of new connections per source IP, before any TLS work is spent on them: at most
// `maxConnectionsPerIp` open at once (handshakes included) and new ones at most
// `newConnectionsPerIpPerSecond` (token bucket, bursts of `newConnectionsBurstPerIp`). One host cannot
// hold every socket of a listener or make it run TLS handshakes as fast as it can dial, and a host on
// another address still gets in. Used by both hub listeners and the certificate server.
import { TransportConfigError } from './errors';

export interface ConnectionLimits {
  /** open connections (handshakes included) from one IP; more are refused. Default 128 (gateways behind one NAT share an IP) */
  maxConnectionsPerIp: number;
  /** sustained rate of new connections from one IP; default 20 per second */
  newConnectionsPerIpPerSecond: number;
  /** how many new connections one IP may open at once before the rate applies; default 100 */
  newConnectionsBurstPerIp: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxConnectionsPerIp: 128,
  newConnectionsPerIpPerSecond: 20,
  newConnectionsBurstPerIp: 100,
};

/** Why a connection was not admitted; `reason` is a metric label. */
export interface GateRefusal {
  reason: 'per-ip-connections' | 'per-ip-rate';
  message: string;
}

/**
 * A token bucket: `capacity` tokens, refilled at `ratePerSecond`. `take()` spends one if there is one.
 * `msUntilToken()` says how long until the next one, for callers that wait instead of refusing.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.updatedAt = now();
  }

  take(count = 1): boolean {
    this.refill();
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }

  /** Spends `count` tokens even when there are not enough: the debt delays the next token (for work already done). */
  spend(count = 1): void {
    this.refill();
    this.tokens -= count;
  }

  /** true while at least one whole token is left */
  get available(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  /** true when the bucket is full again (an idle source; its entry can be forgotten) */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.ratePerSecond);
  }
}

interface Source {
  open: number;
  bucket: TokenBucket;
}

/** entries of idle sources are dropped once the table holds this many, so it cannot grow without bound */
const PRUNE_ABOVE = 4_096;

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TransportConfigError(`connectionLimits.${option}`, `expected a positive number, got ${String(value)}`);
  return value;
}

export function resolveConnectionLimits(limits: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  const merged = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  return {
    maxConnectionsPerIp: positive('maxConnectionsPerIp', merged.maxConnectionsPerIp),
    newConnectionsPerIpPerSecond: positive('newConnectionsPerIpPerSecond', merged.newConnectionsPerIpPerSecond),
    newConnectionsBurstPerIp: positive('newConnectionsBurstPerIp', merged.newConnectionsBurstPerIp),
  };
}

export class ConnectionGate {
  readonly limits: ConnectionLimits;
  private readonly sources = new Map<string, Source>();

  constructor(limits?: Partial<ConnectionLimits>, private readonly now: () => number = Date.now) {
    this.limits = resolveConnectionLimits(limits);
  }

  /**
   * Admits a new connection from `ip` and counts it open until `release()` (call it once, when the
   * socket is gone), or says why not. `openNow` replaces the gate's own count where the caller
   * knows better (QUIC counts its live connections itself).
   */
  admit(ip: string, openNow?: number): { release: () => void } | GateRefusal {
    const source = this.source(ip);
    const open = openNow ?? source.open;
    if (open >= this.limits.maxConnectionsPerIp) {
      return {
        reason: 'per-ip-connections',
        message: `${ip} already has ${open} connections open (limit ${this.limits.maxConnectionsPerIp} per IP); close some, or raise maxConnectionsPerIp`,
      };
    }
    if (!source.bucket.take()) {
      return {
        reason: 'per-ip-rate',
        message: `${ip} opens connections faster than ${this.limits.newConnectionsPerIpPerSecond}/s (burst ${this.limits.newConnectionsBurstPerIp}); retry later with backoff`,
      };
    }
    source.open += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        source.open -= 1;
      },
    };
  }

  /** how many IPs the gate currently tracks (for tests and metrics) */
  get trackedSources(): number {
    return this.sources.size;
  }

  private source(ip: string): Source {
    let source = this.sources.get(ip);
    if (source === undefined) {
      if (this.sources.size >= PRUNE_ABOVE) this.prune();
      source = { open: 0, bucket: new TokenBucket(this.limits.newConnectionsPerIpPerSecond, this.limits.newConnectionsBurstPerIp, this.now) };
      this.sources.set(ip, source);
    }
    return source;
  }

  private prune(): void {
    for (const [ip, source] of this.sources) if (source.open === 0 && source.bucket.full) this.sources.delete(ip);
  }
}

export function isGateRefusal(result: { release: () => void } | GateRefusal): result is GateRefusal {
  return 'reason' in result;
}
