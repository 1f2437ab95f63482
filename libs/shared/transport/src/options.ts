// Options shared by both transports, so that a hub can switch transport by changing one word.
import { DEFAULT_LINK_LIMITS } from './connection';
import type { LinkLimits, TlsMaterial } from './connection';
import type { ConnectionLimits } from './connection-gate';
import { TransportConfigError } from './errors';

/** Transport-level liveness; the hubs' application keepalive messages come on top of this. */
export interface LivenessOptions {
  /** how often to probe the peer (WebSocket ping / QUIC PING); default 15000 */
  keepaliveIntervalMs?: number;
  /** close the link when nothing at all was heard for this long; default 30000 */
  idleTimeoutMs?: number;
}

export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** how long an accepted edge may take to finish TLS and open its stream, by default */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface ListenHubOptions extends LivenessOptions {
  host: string;
  /** 0 picks a free port; read it back from HubListener.port */
  port: number;
  tls: TlsMaterial;
  limits?: Partial<LinkLimits>;
  /**
   * an accepted edge must be fully connected within this; default 10000. WebSocket: TLS within it, then
   * the upgrade request within it again; QUIC: the TLS handshake within it, then the edge's stream.
   */
  handshakeTimeoutMs?: number;
  /** per-IP limits on new and open connections (see ConnectionGate); defaults in DEFAULT_CONNECTION_LIMITS */
  connectionLimits?: Partial<ConnectionLimits>;
}

export interface DialHubOptions extends LivenessOptions {
  /**
   * `wss://host:port` (the path `/<projectId>/<nodeName>/events` is appended when there is none) or
   * `quic://host:port`. The host is also the name the server certificate must carry.
   */
  url: string;
  tls: TlsMaterial;
  limits?: Partial<LinkLimits>;
  /** this edge's node name; must match the certificate (the hub refuses a mismatch) */
  nodeName: string;
  /** KubeEdge project id for the WebSocket path; default "e632aba927ea4ac2b575ec1603d56f10" */
  projectId?: string;
  handshakeTimeoutMs: number;
  /** the local address to dial from (a multi-homed gateway; tests use loopback aliases); default any */
  localAddress?: string;
}

export interface ResolvedLiveness {
  keepaliveIntervalMs: number;
  idleTimeoutMs: number;
}

function positiveInteger(option: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TransportConfigError(option, `expected a positive integer, got ${String(value)}`);
  }
  return value;
}

export function resolveLimits(limits: Partial<LinkLimits> | undefined): LinkLimits {
  const merged = { ...DEFAULT_LINK_LIMITS, ...limits };
  return {
    maxFrameBytes: positiveInteger('limits.maxFrameBytes', merged.maxFrameBytes),
    maxQueuedBytes: positiveInteger('limits.maxQueuedBytes', merged.maxQueuedBytes),
    sendTimeoutMs: positiveInteger('limits.sendTimeoutMs', merged.sendTimeoutMs),
  };
}

export function resolveLiveness(options: LivenessOptions): ResolvedLiveness {
  const keepaliveIntervalMs = positiveInteger('keepaliveIntervalMs', options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS);
  const idleTimeoutMs = positiveInteger('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  if (keepaliveIntervalMs >= idleTimeoutMs) {
    // a probe must be able to come back before the link is declared dead
    throw new TransportConfigError(
      'keepaliveIntervalMs',
      `must be shorter than idleTimeoutMs (${keepaliveIntervalMs} >= ${idleTimeoutMs})`,
    );
  }
  return { keepaliveIntervalMs, idleTimeoutMs };
}

/** `host:port` for logs, with IPv6 hosts bracketed. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  const shownHost = host === undefined ? 'unknown' : host.includes(':') ? `[${host}]` : host;
  return `${shownHost}:${port ?? 0}`;
}
