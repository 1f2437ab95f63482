// Who a pod's bearer token is and what it may read, decided by the cloud and remembered for offline use.
// - authentication: a TokenReview through the cloud. A confirmed token is cached until its `exp`; a
//   refused one briefly (so a pod retrying a bad token does not flood the link). Offline, a token the
//   cloud confirmed before is accepted until it expires; an unknown one is refused with a 401 that says
//   the cloud is unreachable.
// - authorization: a SubjectAccessReview (asked as the token) per user and request attributes, cached
//   for a while online; offline, the remembered decisions stand.
// The in-memory caches serve online requests. Every confirmed review and every decision is also written
// to the edge database (PodReviewTable) before the request is answered; those rows are read only when
// the cloud cannot be asked, so an edgecore restarted offline still answers pods.
// Tokens are never stored: reviews are keyed by the token's SHA-256.
import { createHash } from 'node:crypto';
import type { ResourceAttributes, ReviewedUser } from '@kedge/protocol';
import type { Logger } from '@kedge/telemetry';
import type { PodReviewTable } from '../store/pod-review-table';
import { CloudRefusedError, CloudUnavailableError, type PodApiCloud } from './cloud-pod-api';

export type AuthenticationResult =
  | { ok: true; user: ReviewedUser; token: string; offline: boolean }
  | { ok: false; reason: 'bad_token' | 'cloud_unreachable'; message: string };

export type AuthorizationResult = { allowed: true } | { allowed: false; reason: 'forbidden' | 'cloud_unreachable'; message: string };

export interface PodAccessOptions {
  cloud: PodApiCloud;
  /** where confirmed reviews and decisions survive a restart (MetaStore.podReviews) */
  reviews: PodReviewTable;
  /** told when remembering fails (the request is still answered) */
  logger?: Logger;
  now?: () => number;
  /** how long a refused token stays refused without asking again (default 10 s) */
  negativeTtlMs?: number;
  /** how long an online authorization decision is reused (default 60 s) */
  decisionTtlMs?: number;
  /** a confirmed token without a readable exp is kept this long (default 10 min) */
  defaultTokenTtlMs?: number;
  /** bound on each cache, in memory and on disk (default 10 000 entries) */
  maxEntries?: number;
  /** how often expired rows are pruned from the database, at most (default 60 s; also at construction) */
  pruneIntervalMs?: number;
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

/** The key a token's review is remembered under: its SHA-256, never the token. */
export function tokenDigest(token: string): string {
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

/** The key a decision is remembered under: the user and every attribute the cloud decided on. */
export function attributesKey(user: string, attributes: ResourceAttributes): string {
  return JSON.stringify([user, attributes.verb, attributes.group, attributes.resource, attributes.subresource ?? '', attributes.namespace ?? '', attributes.name ?? '']);
}

export class PodAccess {
  readonly #cloud: PodApiCloud;
  readonly #now: () => number;
  readonly #negativeTtlMs: number;
  readonly #decisionTtlMs: number;
  readonly #defaultTokenTtlMs: number;
  readonly #max: number;
  readonly #reviews: PodReviewTable;
  readonly #logger: Logger | undefined;
  readonly #pruneIntervalMs: number;
  #prunedAt: number;
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #decisions = new Map<string, DecisionEntry>();

  constructor(options: PodAccessOptions) {
    this.#cloud = options.cloud;
    this.#now = options.now ?? Date.now;
    this.#negativeTtlMs = options.negativeTtlMs ?? 10_000;
    this.#decisionTtlMs = options.decisionTtlMs ?? 60_000;
    this.#defaultTokenTtlMs = options.defaultTokenTtlMs ?? 600_000;
    this.#max = options.maxEntries ?? 10_000;
    this.#reviews = options.reviews;
    this.#logger = options.logger;
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
    this.#prunedAt = this.#now();
    this.#store('prune remembered token reviews', () => this.#reviews.prune(this.#prunedAt, this.#max));
  }

  get cloud(): PodApiCloud {
    return this.#cloud;
  }

  async authenticate(token: string): Promise<AuthenticationResult> {
    const key = tokenDigest(token);
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
        const until = expiry ?? now + this.#defaultTokenTtlMs;
        remember(this.#tokens, key, { user: answer.user, until }, this.#max);
        // on disk before the pod gets its answer: a kill -9 right after cannot lose it
        this.#store('remember a token review', () => this.#reviews.rememberTokenReview(key, { user: answer.user as ReviewedUser, expiresAt: until, confirmedAt: now }));
        this.#maybePrune(now);
        return { ok: true, user: answer.user, token, offline: false };
      }
      return this.#refuseToken(key, now, `the cloud API server refused the token: ${answer.error ?? 'Unauthorized'}`);
    } catch (error) {
      if (error instanceof CloudRefusedError) return this.#refuseToken(key, now, `the cloud refused the token: ${error.message}`);
      if (error instanceof CloudUnavailableError) {
        // only now is the disk asked: online, the cloud decides
        const remembered = this.#read('read a token review', () => this.#reviews.tokenReview(key));
        if (remembered !== undefined && remembered.expiresAt > now) return { ok: true, user: remembered.user, token, offline: true };
        if (remembered !== undefined) {
          return { ok: false, reason: 'bad_token', message: `the token expired at ${new Date(remembered.expiresAt).toISOString()} (as the cloud confirmed it)` };
        }
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
      this.#store('remember an access decision', () => this.#reviews.rememberDecision(key, user.username, entry));
      return this.#result(user, attributes, entry);
    } catch (error) {
      // offline (or the cloud failed): a remembered decision stands, whatever its age; after a restart,
      // the one on disk
      if (cached !== undefined && error instanceof CloudUnavailableError) return this.#result(user, attributes, cached);
      const remembered = error instanceof CloudUnavailableError ? this.#read('read an access decision', () => this.#reviews.decision(key)) : undefined;
      if (remembered !== undefined) return this.#result(user, attributes, remembered);
      if (error instanceof CloudUnavailableError) {
        return { allowed: false, reason: 'cloud_unreachable', message: `cannot check with the cloud whether User "${user.username}" may ${attributes.verb} ${attributes.resource}, and no earlier decision is remembered: ${error.message}` };
      }
      if (error instanceof CloudRefusedError) return { allowed: false, reason: 'forbidden', message: `the cloud refused the access review: ${error.message}` };
      throw error;
    }
  }

  #refuseToken(key: string, now: number, message: string): AuthenticationResult {
    remember(this.#tokens, key, { message, until: now + this.#negativeTtlMs }, this.#max);
    // the cloud no longer accepts it: offline it must not be taken for confirmed
    this.#store('forget a token review', () => this.#reviews.forgetTokenReview(key));
    return { ok: false, reason: 'bad_token', message };
  }

  #maybePrune(now: number): void {
    if (now - this.#prunedAt < this.#pruneIntervalMs) return;
    this.#prunedAt = now;
    this.#store('prune remembered token reviews', () => this.#reviews.prune(now, this.#max));
  }

  /** A failed write (disk full, store closed at shutdown) costs offline memory, not the online answer. */
  #store(action: string, write: () => unknown): void {
    try {
      write();
    } catch (error) {
      this.#logger?.warn({ error }, `MetaServer could not ${action} in the edge database; pods depending on it will need the cloud`);
    }
  }

  /** A failed read is taken as nothing remembered: the pod gets the offline refusal, not a 500. */
  #read<T>(action: string, read: () => T | undefined): T | undefined {
    try {
      return read();
    } catch (error) {
      this.#logger?.warn({ error }, `MetaServer could not ${action} from the edge database`);
      return undefined;
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
