// Projected ServiceAccount tokens, as the kubelet's token manager keeps them: a TokenRequest through the
// cloud for the pod's ServiceAccount, bound to the pod; refreshed once 80% of its lifetime has passed or
// it is older than 24 h; kept in a 0600 file per token (0700 directory) so that an edgecore restarted
// offline still mounts a token that is valid; written into the pod's volume atomically (a temporary file
// renamed over the old one), so a reader never sees half a token.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenAnswer, TokenRequestContent } from '@kedge/protocol';
import type { Logger } from '@kedge/telemetry';
import { PodSetupError } from './errors';
import { podKey, type Pod, type ServiceAccountTokenProjection } from './pod-spec';

/** What edged asks the cloud (the metamanager's HubPodApiCloud does it over the hub). */
export interface TokenIssuer {
  serviceAccountToken(namespace: string, podName: string, request: TokenRequestContent): Promise<TokenAnswer>;
}

export const DEFAULT_TOKEN_SECONDS = 3600;
const MAX_TOKEN_AGE_MS = 24 * 3600 * 1000;

export interface HeldToken {
  token: string;
  issuedAtMs: number;
  expiresAtMs: number;
}

/** The kubelet's rule: refresh after 80% of the lifetime, or after 24 h, or once expired. */
export function needsRefresh(held: HeldToken, nowMs: number): boolean {
  if (nowMs >= held.expiresAtMs) return true;
  if (nowMs - held.issuedAtMs > MAX_TOKEN_AGE_MS) return true;
  return nowMs >= held.issuedAtMs + 0.8 * (held.expiresAtMs - held.issuedAtMs);
}

/** A projected token's place: pod, volume and the source's file path. */
interface Placement {
  pod: Pod;
  volumeDir: string;
  source: ServiceAccountTokenProjection;
}

export interface ServiceAccountTokensOptions {
  issuer: TokenIssuer;
  /** where tokens are kept (0700; one 0600 file per pod and projection) */
  dir: string;
  logger: Logger;
  now?: () => number;
}

function keyOf(pod: Pod, source: ServiceAccountTokenProjection): string {
  const projection = createHash('sha256').update(JSON.stringify([source.audience ?? '', source.expirationSeconds ?? DEFAULT_TOKEN_SECONDS])).digest('hex').slice(0, 16);
  return `${pod.metadata.uid}-${projection}`;
}

function isHeld(value: unknown): value is HeldToken {
  if (typeof value !== 'object' || value === null) return false;
  const held = value as Record<string, unknown>;
  return typeof held['token'] === 'string' && typeof held['issuedAtMs'] === 'number' && typeof held['expiresAtMs'] === 'number';
}

function writeAtomically(file: string, content: string, mode: number): void {
  const temporary = `${file}.tmp-${process.pid}`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, content, { flag: 'wx', mode: 0o600 });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}

export class ServiceAccountTokens {
  readonly #options: ServiceAccountTokensOptions;
  readonly #now: () => number;
  readonly #held = new Map<string, HeldToken>();
  /** where each token is mounted, for the refresh */
  readonly #placements = new Map<string, Placement[]>();

  constructor(options: ServiceAccountTokensOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    if ((statSync(options.dir).mode & 0o077) !== 0) chmodSync(options.dir, 0o700);
  }

  #file(key: string): string {
    return join(this.#options.dir, `${key}.json`);
  }

  #load(key: string): HeldToken | undefined {
    const inMemory = this.#held.get(key);
    if (inMemory !== undefined) return inMemory;
    const file = this.#file(key);
    if (!existsSync(file)) return undefined;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (!isHeld(parsed)) return undefined;
      this.#held.set(key, parsed);
      return parsed;
    } catch {
      return undefined;
    }
  }

  async #request(pod: Pod, source: ServiceAccountTokenProjection, key: string): Promise<HeldToken> {
    const requestedAt = this.#now();
    const answer = await this.#options.issuer.serviceAccountToken(pod.metadata.namespace, pod.metadata.name, {
      podUID: pod.metadata.uid,
      serviceAccountName: pod.spec.serviceAccountName || 'default',
      expirationSeconds: Math.max(600, source.expirationSeconds ?? DEFAULT_TOKEN_SECONDS),
      ...(source.audience ? { audiences: [source.audience] } : {}),
    });
    const expiresAtMs = Date.parse(answer.expirationTimestamp);
    if (!Number.isFinite(expiresAtMs)) throw new Error(`the cloud's token for ${podKey(pod)} has no readable expirationTimestamp`);
    const held: HeldToken = { token: answer.token, issuedAtMs: requestedAt, expiresAtMs };
    this.#held.set(key, held);
    writeAtomically(this.#file(key), JSON.stringify(held), 0o600);
    return held;
  }

  /**
   * A valid token for this projection: the held one unless it needs a refresh; a new one from the
   * cloud otherwise. Offline, a held token that has not expired is used.
   * @throws PodSetupError when there is none (the pod waits, as a kubelet's does on FailedMount)
   */
  async tokenFor(pod: Pod, source: ServiceAccountTokenProjection): Promise<string> {
    const key = keyOf(pod, source);
    const held = this.#load(key);
    const now = this.#now();
    if (held !== undefined && !needsRefresh(held, now)) return held.token;
    try {
      return (await this.#request(pod, source, key)).token;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (held !== undefined && held.expiresAtMs > now) {
        this.#options.logger.warn({ pod: podKey(pod), expiresAt: new Date(held.expiresAtMs).toISOString(), error: reason }, 'could not refresh a ServiceAccount token; using the held one until it expires');
        return held.token;
      }
      throw new PodSetupError('CreateContainerConfigError', `no ServiceAccount token for ${podKey(pod)} (ServiceAccount "${pod.spec.serviceAccountName || 'default'}"): the cloud did not issue one: ${reason}`);
    }
  }

  /** Remembers where a token is mounted, so refresh() rewrites it there. */
  track(pod: Pod, volumeDir: string, source: ServiceAccountTokenProjection): void {
    const list = (this.#placements.get(pod.metadata.uid) ?? []).filter((placement) => !(placement.volumeDir === volumeDir && placement.source.path === source.path));
    list.push({ pod, volumeDir, source });
    this.#placements.set(pod.metadata.uid, list);
  }

  /** Refreshes every tracked token that is due and rewrites it in its volume. Never throws. */
  async refresh(): Promise<void> {
    for (const placements of this.#placements.values()) {
      for (const { pod, volumeDir, source } of placements) {
        const key = keyOf(pod, source);
        const held = this.#load(key);
        if (held !== undefined && !needsRefresh(held, this.#now())) continue;
        try {
          const token = await this.tokenFor(pod, source);
          const file = join(volumeDir, source.path);
          if (!existsSync(volumeDir)) continue;
          const mode = existsSync(file) ? statSync(file).mode & 0o777 : 0o644;
          writeAtomically(file, token, mode);
          this.#options.logger.info({ pod: podKey(pod), path: source.path }, 'refreshed a projected ServiceAccount token');
        } catch (error) {
          this.#options.logger.warn({ pod: podKey(pod), error: error instanceof Error ? error.message : String(error) }, 'ServiceAccount token refresh failed; will retry');
        }
      }
    }
  }

  /** The pod is gone: its tokens are dropped from memory and disk. */
  forget(podUid: string): void {
    this.#placements.delete(podUid);
    for (const key of [...this.#held.keys()]) if (key.startsWith(`${podUid}-`)) this.#held.delete(key);
    for (const name of readdirSync(this.#options.dir)) if (name.startsWith(`${podUid}-`)) rmSync(join(this.#options.dir, name), { force: true });
  }
}
