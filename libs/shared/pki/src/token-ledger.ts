// The cluster's list of join tokens and what each one joined. `kedgeadm token create` registers a
// token here; the certificate server accepts only registered tokens and records every use. A token
// joins each node name once (a retry with the same key is the same join, so an interrupted join can
// be repeated) and at most `count` names; `kedgeadm token delete` removes it, and with it every
// later use. The secret part of a token (its MAC) is never stored: the id alone cannot join.
import { CertificateStoreError, JoinTokenError } from './errors';
import type { CertificateAuthority } from './authority';
import {
  describeTokenBinding,
  issueJoinToken,
  parseJoinToken,
  tokenAdmitsNode,
  type IssueJoinTokenOptions,
  type JoinTokenClaims,
} from './join-token';
import { assertValidNodeName, isValidNodeName, isValidNodePattern } from './node-name';
import { asStore } from './stored-authority';
import type { CertificateStore, StoreEntry } from './store';

/** the store entry (a file in the PKI directory, a key of the PKI Secret) */
export const JOIN_TOKENS_FILE = 'join-tokens.json';

export interface TokenUse {
  nodeName: string;
  /** sha256 of the DER SubjectPublicKeyInfo the node's certificate was issued for */
  publicKeySha256: string;
  usedAt: string;
}

export interface JoinTokenRecord {
  id: string;
  node?: string;
  pattern?: string;
  /** how many different node names may join with it */
  count: number;
  createdAt: string;
  expiresAt: string;
  uses: TokenUse[];
}

export interface ClaimOptions {
  /** the key the certificate is for: the same name with the same key is a retry, another key is refused */
  publicKeySha256: string;
  /** whether a Node of that name exists (or has a live session): only a retry of its own join may go on */
  nodeExists: boolean;
  now?: Date;
}

/** `first-use` recorded a new use; `retry` found this name and key already recorded */
export type ClaimResult = 'first-use' | 'retry';

const TOKEN_ID = /^[A-Za-z0-9_-]{16,128}$/;
const KEY_HASH = /^[0-9a-f]{64}$/;
const CREATE_HINT = 'create a new one with `kedgeadm token create --node <name>`';

interface LedgerFile {
  version: 2;
  tokens: Map<string, JoinTokenRecord>;
}

export class JoinTokenLedger {
  readonly #store: CertificateStore;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: CertificateStore | string) {
    this.#store = asStore(store);
  }

  get location(): string {
    return this.#store.location;
  }

  /** Adds a freshly issued token (v2 claims); expired records are dropped on the way. */
  async register(claims: JoinTokenClaims, options: { now?: Date } = {}): Promise<JoinTokenRecord> {
    if (claims.v !== 2 || !TOKEN_ID.test(claims.jti)) throw new RangeError('only bound (v2) join tokens can be registered');
    const record: JoinTokenRecord = {
      id: claims.jti,
      ...(claims.node === undefined ? {} : { node: claims.node }),
      ...(claims.pattern === undefined ? {} : { pattern: claims.pattern }),
      count: claims.count ?? 1,
      createdAt: new Date(claims.iat * 1000).toISOString(),
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      uses: [],
    };
    await this.#change((ledger) => {
      if (ledger.tokens.has(record.id)) throw new RangeError(`join token ${record.id} is already registered`);
      ledger.tokens.set(record.id, record);
      return true;
    }, options.now);
    return record;
  }

  /** Every registered token, oldest first; tokens that expired since the last write are still listed. */
  async list(): Promise<JoinTokenRecord[]> {
    await this.#queue;
    const ledger = this.#parse(await this.#store.read(JOIN_TOKENS_FILE));
    return [...ledger.tokens.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async recordOf(id: string): Promise<JoinTokenRecord | undefined> {
    return (await this.list()).find((record) => record.id === id);
  }

  /** Removes a token so that it cannot be used any more; false when there was no such token. */
  async delete(id: string): Promise<boolean> {
    if (typeof id !== 'string' || !TOKEN_ID.test(id)) throw new RangeError(`token id ${JSON.stringify(id)} is not valid`);
    let removed = false;
    await this.#change((ledger) => {
      removed = ledger.tokens.delete(id);
      return removed;
    });
    return removed;
  }

  /**
   * Records that the verified token `claims` joins `nodeName` with the key `publicKeySha256`, or
   * throws JoinTokenError: UNKNOWN_TOKEN (deleted or never registered), WRONG_NODE, NODE_EXISTS,
   * TOKEN_ALREADY_USED. Decided on the ledger as stored, as a compare-and-swap where the store offers one.
   */
  async claim(claims: JoinTokenClaims, nodeName: string, options: ClaimOptions): Promise<ClaimResult> {
    if (!TOKEN_ID.test(claims.jti)) throw new RangeError(`token id ${JSON.stringify(claims.jti)} is not valid`);
    assertValidNodeName(nodeName);
    if (!KEY_HASH.test(options.publicKeySha256)) throw new RangeError('publicKeySha256 must be 64 hex digits');
    let result: ClaimResult = 'first-use';
    await this.#change((ledger, now) => {
      result = decideClaim(ledger, claims.jti, nodeName, options, now);
      return result === 'first-use';
    }, options.now);
    return result;
  }

  // One change at a time in this process; across processes, the store's compare-and-swap (the
  // Secret's resourceVersion, the file store's lock) re-runs `apply` on the newer ledger when
  // someone else wrote in between, so a decision is only stored on top of what it was made from.
  async #change(apply: (ledger: LedgerFile, now: Date) => boolean, now: Date = new Date()): Promise<void> {
    const run = async (): Promise<void> => {
      const decide = (text: string | undefined): StoreEntry[] | undefined => {
        const ledger = this.#parse(text);
        if (!apply(ledger, now)) return undefined;
        return [ledgerEntry(ledger, now)];
      };
      if (this.#store.update) {
        await this.#store.update([JOIN_TOKENS_FILE], (current) => decide(current.get(JOIN_TOKENS_FILE)));
        return;
      }
      const entries = decide(await this.#store.read(JOIN_TOKENS_FILE));
      if (entries !== undefined) await this.#store.write(entries);
    };
    const result = this.#queue.then(run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  // A damaged ledger stops joins instead of being reset: an empty one would forget which names
  // and keys already used a token, and which tokens were deleted.
  #parse(text: string | undefined): LedgerFile {
    const tokens = new Map<string, JoinTokenRecord>();
    if (text === undefined) return { version: 2, tokens };
    try {
      const value = JSON.parse(text) as { version?: unknown; tokens?: unknown } | null;
      if (value?.version !== 2 || typeof value.tokens !== 'object' || value.tokens === null || Array.isArray(value.tokens)) {
        throw new TypeError('expected {"version": 2, "tokens": {...}}');
      }
      for (const [id, record] of Object.entries(value.tokens)) tokens.set(id, readRecord(id, record));
      return { version: 2, tokens };
    } catch (cause) {
      throw new CertificateStoreError(
        'CORRUPT_FILE',
        `${JOIN_TOKENS_FILE} in ${this.#store.location} cannot be read (${(cause as Error).message}); restore it from backup — ` +
          'deleting it refuses every outstanding join token, which is safe: create new ones with `kedgeadm token create`',
        { cause },
      );
    }
  }
}

function decideClaim(ledger: LedgerFile, id: string, nodeName: string, options: ClaimOptions, now: Date): ClaimResult {
  const record = ledger.tokens.get(id);
  if (record === undefined || Date.parse(record.expiresAt) <= now.getTime()) {
    throw new JoinTokenError(
      'UNKNOWN_TOKEN',
      `join token ${id} is not in this cluster's token list: it was deleted (\`kedgeadm token delete\`), it expired, ` +
        `or it was created for another token store; ${CREATE_HINT}`,
    );
  }
  if (!tokenAdmitsNode(record, nodeName)) {
    throw new JoinTokenError('WRONG_NODE', `join token ${id} is bound to ${describeTokenBinding(record)}, not "${nodeName}"; ${CREATE_HINT}`);
  }
  const previous = record.uses.find((use) => use.nodeName === nodeName);
  if (previous !== undefined) {
    if (previous.publicKeySha256 === options.publicKeySha256) return 'retry';
    throw new JoinTokenError(
      'TOKEN_ALREADY_USED',
      `join token ${id} already joined node "${nodeName}" at ${previous.usedAt} with another key; a token joins a node once. ` +
        `If this gateway was reinstalled, delete the old node (\`kubectl delete node ${nodeName}\`) and create a new token ` +
        `with \`kedgeadm token create --node ${nodeName}\``,
    );
  }
  if (options.nodeExists) {
    throw new JoinTokenError(
      'NODE_EXISTS',
      `node "${nodeName}" already exists and did not join with token ${id}; a token never takes over an existing node. ` +
        `Join under another name, or, if "${nodeName}" is gone for good, \`kubectl delete node ${nodeName}\` and join again`,
    );
  }
  if (record.uses.length >= record.count) {
    throw new JoinTokenError(
      'TOKEN_ALREADY_USED',
      `join token ${id} (${describeTokenBinding(record)}) has joined all of its ${record.count} node name(s) ` +
        `(${record.uses.map((use) => use.nodeName).join(', ')}); ${CREATE_HINT}`,
    );
  }
  record.uses.push({ nodeName, publicKeySha256: options.publicKeySha256, usedAt: now.toISOString() });
  return 'first-use';
}

function readRecord(id: string, value: unknown): JoinTokenRecord {
  const record = (value ?? {}) as Record<string, unknown>;
  const { node, pattern, count, createdAt, expiresAt, uses } = record;
  const ok =
    TOKEN_ID.test(id) &&
    record['id'] === id &&
    (node === undefined ? isValidNodePattern(pattern) : isValidNodeName(node) && pattern === undefined) &&
    Number.isSafeInteger(count) &&
    (count as number) >= 1 &&
    typeof createdAt === 'string' &&
    typeof expiresAt === 'string' &&
    !Number.isNaN(Date.parse(expiresAt)) &&
    Array.isArray(uses) &&
    uses.every(
      (use: Record<string, unknown> | null) =>
        isValidNodeName(use?.['nodeName']) && typeof use?.['publicKeySha256'] === 'string' && KEY_HASH.test(use['publicKeySha256']) && typeof use['usedAt'] === 'string',
    );
  if (!ok) throw new TypeError(`the record of token ${JSON.stringify(id.slice(0, 32))} is not valid`);
  return {
    id,
    ...(node === undefined ? {} : { node: node as string }),
    ...(pattern === undefined ? {} : { pattern: pattern as string }),
    count: count as number,
    createdAt,
    expiresAt,
    uses: (uses as TokenUse[]).map(({ nodeName, publicKeySha256, usedAt }) => ({ nodeName, publicKeySha256, usedAt })),
  };
}

// Records of expired tokens are dropped on every write: an expired token is refused anyway.
function ledgerEntry(ledger: LedgerFile, now: Date): StoreEntry {
  const tokens: Record<string, JoinTokenRecord> = {};
  for (const [id, record] of ledger.tokens) {
    if (Date.parse(record.expiresAt) > now.getTime()) tokens[id] = record;
  }
  return { name: JOIN_TOKENS_FILE, content: `${JSON.stringify({ version: 2, tokens }, null, 2)}\n`, secret: true };
}

/** Issues a bound token and registers it in `ledger`: what `kedgeadm token create` does. */
export async function createJoinToken(
  ca: CertificateAuthority,
  ledger: JoinTokenLedger,
  options: IssueJoinTokenOptions,
): Promise<{ token: string; record: JoinTokenRecord }> {
  const token = issueJoinToken(ca, options);
  const record = await ledger.register(parseJoinToken(token).claims, options.now === undefined ? {} : { now: options.now });
  return { token, record };
}
