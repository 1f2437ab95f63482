// Who a pod's bearer token is and what it may read, decided by the cloud and remembered for offline use.
// - authentication: a TokenReview through the cloud. A confirmed token is cached until its `exp`; a
//   refused one briefly (so a pod retrying a bad token does not flood the link). Offline, a token the
//   cloud confirmed before is accepted until it expires; an unknown one is refused with a 401 that says
//   the cloud is unreachable.
// - authorization: a SubjectAccessReview (asked as the token) per user and request attributes, cached
//   for a while online; offline, the remembered decisions stand.
// Tokens are never stored: the caches are keyed by the token's SHA-256.
import { createHash } from 'node:crypto';
import type { ResourceAttributes, ReviewedUser } from '@kedge/protocol';
import { CloudRefusedError, CloudUnavailableError, type PodApiCloud } from './cloud-pod-api';

export type AuthenticationResult =
  | { ok: true; user: ReviewedUser; token: string; offline: boolean }
  | { ok: false; reason: 'bad_token' | 'cloud_unreachable'; message: string };

export type AuthorizationResult = { allowed: true } | { allowed: false; reason: 'forbidden' | 'cloud_unreachable'; message: string };

export interface PodAccessOptions {
  cloud: PodApiCloud;
  now?: () => number;
  /** how long a refused token stays refused without asking again (default 10 s) */
  negativeTtlMs?: number;
  /** how long an online authorization decision is reused (default 60 s) */
  decisionTtlMs?: number;
  /** a confirmed token without a readable exp is kept this long (default 10 min) */
  defaultTokenTtlMs?: number;
  /** bound on each cache (default 10 000 entries) */
  maxEntries?: number;
}

interface TokenEntry {
  user?: ReviewedUser;
  message?: string;
  until: number;
}

interface DecisionEntry {
  allowed: boolean;
  reason: string;
  decidedAt: number;
}

/** The `exp` claim of a JWT in ms, read without checking the signature (the cloud checked the token). */
export function tokenExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  // insertion order is age order: drop the oldest
  while (map.size > max) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

export function attributesKey(user: string, attributes: ResourceAttributes): string {
  return [user, attributes.verb, attributes.group, attributes.resource, attributes.subresource ?? '', attributes.namespace ?? '', attributes.name ?? ''].join('\u0000');
}

export class PodAccess {
  readonly #cloud: PodApiCloud;
  readonly #now: () => number;
  readonly #negativeTtlMs: number;
  readonly #decisionTtlMs: number;
  readonly #defaultTokenTtlMs: number;
  readonly #max: number;
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #decisions = new Map<string, DecisionEntry>();

  constructor(options: PodAccessOptions) {
    this.#cloud = options.cloud;
    this.#now = options.now ?? Date.now;
    this.#negativeTtlMs = options.negativeTtlMs ?? 10_000;
    this.#decisionTtlMs = options.decisionTtlMs ?? 60_000;
    this.#defaultTokenTtlMs = options.defaultTokenTtlMs ?? 600_000;
    this.#max = options.maxEntries ?? 10_000;
  }

  get cloud(): PodApiCloud {
    return this.#cloud;
  }

  async authenticate(token: string): Promise<AuthenticationResult> {
    const key = digest(token);
    const now = this.#now();
    const expiry = tokenExpiryMs(token);
    if (expiry !== undefined && expiry <= now) return { ok: false, reason: 'bad_token', message: `the token expired at ${new Date(expiry).toISOString()}` };
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.until > now) {
      if (cached.user !== undefined) return { ok: true, user: cached.user, token, offline: !this.#cloud.connected };
      return { ok: false, reason: 'bad_token', message: cached.message ?? 'the token was refused' };
    }
    try {
      const answer = await this.#cloud.tokenReview(token);
      if (answer.authenticated && answer.user !== undefined) {
        remember(this.#tokens, key, { user: answer.user, until: expiry ?? now + this.#defaultTokenTtlMs }, this.#max);
        return { ok: true, user: answer.user, token, offline: false };
      }
      const message = `the cloud API server refused the token: ${answer.error ?? 'Unauthorized'}`;
      remember(this.#tokens, key, { message, until: now + this.#negativeTtlMs }, this.#max);
      return { ok: false, reason: 'bad_token', message };
    } catch (error) {
      if (error instanceof CloudRefusedError) {
        const message = `the cloud refused the token: ${error.message}`;
        remember(this.#tokens, key, { message, until: now + this.#negativeTtlMs }, this.#max);
        return { ok: false, reason: 'bad_token', message };
      }
      if (error instanceof CloudUnavailableError) {
        return {
          ok: false,
          reason: 'cloud_unreachable',
          message: `this token was never confirmed by the cloud and the cloud cannot be reached to check it (${error.message}); tokens confirmed while online keep working offline until they expire`,
        };
      }
      throw error;
    }
  }

  async authorize(user: ReviewedUser, token: string, attributes: ResourceAttributes): Promise<AuthorizationResult> {
    const key = attributesKey(user.username, attributes);
    const now = this.#now();
    const cached = this.#decisions.get(key);
    const fresh = cached !== undefined && now - cached.decidedAt < (cached.allowed ? this.#decisionTtlMs : this.#negativeTtlMs);
    if (cached !== undefined && (fresh || !this.#cloud.connected)) return this.#result(user, attributes, cached);
    try {
      const answer = await this.#cloud.accessReview(token, attributes);
      const entry = { allowed: answer.allowed, reason: answer.reason ?? '', decidedAt: now };
      remember(this.#decisions, key, entry, this.#max);
      return this.#result(user, attributes, entry);
    } catch (error) {
      // offline (or the cloud failed): a remembered decision stands, whatever its age
      if (cached !== undefined && error instanceof CloudUnavailableError) return this.#result(user, attributes, cached);
      if (error instanceof CloudUnavailableError) {
        return { allowed: false, reason: 'cloud_unreachable', message: `cannot check with the cloud whether User "${user.username}" may ${attributes.verb} ${attributes.resource}, and no earlier decision is remembered: ${error.message}` };
      }
      if (error instanceof CloudRefusedError) return { allowed: false, reason: 'forbidden', message: `the cloud refused the access review: ${error.message}` };
      throw error;
    }
  }

  #result(user: ReviewedUser, attributes: ResourceAttributes, entry: DecisionEntry): AuthorizationResult {
    if (entry.allowed) return { allowed: true };
    const resource = attributes.subresource === undefined ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
    const scope = attributes.namespace === undefined ? 'at the cluster scope' : `in the namespace "${attributes.namespace}"`;
    const suffix = entry.reason === '' ? '' : `: ${entry.reason}`;
    return { allowed: false, reason: 'forbidden', message: `${attributes.resource}${attributes.name ? ` "${attributes.name}"` : ''} is forbidden: User "${user.username}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}${suffix}` };
  }
}
