// What the cloud said about pods' ServiceAccount tokens and reads, kept in the edge database so MetaServer
// can still answer pods after an edgecore restart while the cloud is unreachable. Tokens are never stored:
// a confirmed review is keyed by the token's SHA-256. Every write is committed and fsynced when the method
// returns (the store's group commit `syncNow`, a blocking fsync: these writes are rare), so a review, or a
// forgotten token, is on disk before the request it served is answered.
import type { ReviewedUser } from '@kedge/protocol';
import type BetterSqlite3 from 'better-sqlite3';
import type { Statements } from './database';

export interface RememberedTokenReview {
  user: ReviewedUser;
  /** ms since the epoch: the token's `exp` (or the default lifetime of a token without one) */
  expiresAt: number;
  confirmedAt: number;
}

export interface RememberedDecision {
  allowed: boolean;
  reason: string;
  decidedAt: number;
}

export interface PruneResult {
  tokenReviews: number;
  decisions: number;
}

function isReviewedUser(value: unknown): value is ReviewedUser {
  if (typeof value !== 'object' || value === null) return false;
  const user = value as Record<string, unknown>;
  return typeof user['username'] === 'string' && Array.isArray(user['groups']) && user['groups'].every((group) => typeof group === 'string');
}

export class PodReviewTable {
  readonly #prune: (now: number, maxEntries: number) => PruneResult;

  constructor(
    db: BetterSqlite3.Database,
    private readonly sql: Statements,
    private readonly assertOpen: (action: string) => void,
    /** makes the write just committed durable before the method returns */
    private readonly syncNow: () => void,
  ) {
    this.#prune = db.transaction((now: number, maxEntries: number): PruneResult => {
      const expired = sql.pruneExpiredTokenReviews.run(now).changes;
      const overflow = sql.pruneOldestTokenReviews.run(maxEntries).changes;
      const orphans = sql.pruneOrphanDecisions.run().changes;
      const oldest = sql.pruneOldestDecisions.run(maxEntries).changes;
      return { tokenReviews: expired + overflow, decisions: orphans + oldest };
    });
  }

  /** Remembers that the cloud confirmed the token with this digest as `user`, until `expiresAt`. */
  rememberTokenReview(tokenSha256: string, review: RememberedTokenReview): void {
    this.assertOpen('remember a token review');
    this.sql.putTokenReview.run(tokenSha256, review.user.username, JSON.stringify(review.user), review.expiresAt, review.confirmedAt);
    this.syncNow();
  }

  /** The confirmed review of the token with this digest, expired or not (the caller checks). */
  tokenReview(tokenSha256: string): RememberedTokenReview | undefined {
    this.assertOpen('read a token review');
    const row = this.sql.tokenReview.get(tokenSha256);
    if (row === undefined) return undefined;
    let user: unknown;
    try {
      user = JSON.parse(row.user);
    } catch {
      return undefined;
    }
    // a row this code did not write (edited by hand, damaged) confirms nobody
    return isReviewedUser(user) ? { user, expiresAt: row.expires_at, confirmedAt: row.confirmed_at } : undefined;
  }

  /** Forgets a token (the cloud refused it since): offline it is then unknown. */
  forgetTokenReview(tokenSha256: string): void {
    this.assertOpen('forget a token review');
    this.sql.dropTokenReview.run(tokenSha256);
    this.syncNow();
  }

  rememberDecision(key: string, username: string, decision: RememberedDecision): void {
    this.assertOpen('remember an access decision');
    this.sql.putDecision.run(key, username, decision.allowed ? 1 : 0, decision.reason, decision.decidedAt);
    this.syncNow();
  }

  decision(key: string): RememberedDecision | undefined {
    this.assertOpen('read an access decision');
    const row = this.sql.decision.get(key);
    return row === undefined ? undefined : { allowed: row.allowed === 1, reason: row.reason, decidedAt: row.decided_at };
  }

  /**
   * Drops expired token reviews, then decisions of users with no confirmed token left (nobody can be that
   * user offline), then the oldest beyond `maxEntries` of each. One transaction.
   */
  prune(now: number, maxEntries: number): PruneResult {
    this.assertOpen('prune token reviews');
    const pruned = this.#prune(now, maxEntries);
    this.syncNow();
    return pruned;
  }

  counts(): { tokenReviews: number; decisions: number } {
    this.assertOpen('count token reviews');
    return { tokenReviews: this.sql.countTokenReviews.get()?.count ?? 0, decisions: this.sql.countDecisions.get()?.count ?? 0 };
  }
}
