// Which node used which join token. A token joins one node; the same node may retry (a join can
// fail after the cloud signed but before the edge stored the certificate).
import { CertificateStoreError, JoinTokenError } from './errors';
import { assertValidNodeName } from './node-name';
import { asStore } from './stored-authority';
import type { CertificateStore, StoreEntry } from './store';

export const TOKEN_USES_FILE = 'token-uses.json';

export interface TokenUse {
  nodeName: string;
  firstUsedAt: string;
  /** when the token itself expires; the record is dropped after that, the token being useless */
  expiresAt?: string;
}

export interface ClaimOptions {
  expiresAt?: Date;
  now?: Date;
}

const TOKEN_ID = /^[A-Za-z0-9_-]{1,128}$/;

interface LedgerFile {
  version: 1;
  uses: Record<string, TokenUse>;
}

export class TokenUseLedger {
  readonly #store: CertificateStore;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: CertificateStore | string) {
    this.#store = asStore(store);
  }

  /** Records the first use of `jti`; throws JoinTokenError REUSED_FOR_ANOTHER_NODE for a second node. */
  async claim(jti: string, nodeName: string, options: ClaimOptions = {}): Promise<void> {
    if (typeof jti !== 'string' || !TOKEN_ID.test(jti)) throw new RangeError(`token id ${JSON.stringify(jti)} is not valid`);
    assertValidNodeName(nodeName);
    // one claim at a time, or two nodes racing with one token could both read "unused"
    const result = this.#queue.then(() => this.#claim(jti, nodeName, options));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async useOf(jti: string): Promise<TokenUse | undefined> {
    await this.#queue;
    const { uses } = await this.#load();
    return Object.hasOwn(uses, jti) ? uses[jti] : undefined;
  }

  // A store shared by several processes (a Kubernetes Secret behind two cloudcores) offers
  // compare-and-swap: the claim is decided on the ledger as read, and stored only if nobody changed
  // the ledger since; otherwise it is decided again on the newer ledger, where the other process's
  // claim now shows. In-process serialization (the queue above) cannot see another process's claim.
  async #claim(jti: string, nodeName: string, options: ClaimOptions): Promise<void> {
    if (this.#store.update) {
      await this.#store.update([TOKEN_USES_FILE], (current) => {
        const next = this.#withClaim(this.#parse(current.get(TOKEN_USES_FILE)), jti, nodeName, options);
        return next === undefined ? undefined : [ledgerEntry(next)];
      });
      return;
    }
    const next = this.#withClaim(await this.#load(), jti, nodeName, options);
    if (next !== undefined) await this.#store.write([ledgerEntry(next)]);
  }

  /** the ledger with this claim added (expired records dropped), or undefined when it is already there */
  #withClaim(ledger: LedgerFile, jti: string, nodeName: string, options: ClaimOptions): LedgerFile | undefined {
    const previous = Object.hasOwn(ledger.uses, jti) ? ledger.uses[jti] : undefined;
    if (previous?.nodeName === nodeName) return undefined;
    if (previous !== undefined) {
      throw new JoinTokenError(
        'REUSED_FOR_ANOTHER_NODE',
        `join token ${jti} was already used by node "${previous.nodeName}" at ${previous.firstUsedAt}; ` +
          `a token joins one node — issue a new one for "${nodeName}" with \`kedgeadm token\``,
      );
    }
    const now = options.now ?? new Date();
    const uses: Record<string, TokenUse> = {};
    for (const [id, use] of Object.entries(ledger.uses)) {
      if (use.expiresAt === undefined || Date.parse(use.expiresAt) > now.getTime()) uses[id] = use;
    }
    uses[jti] = {
      nodeName,
      firstUsedAt: now.toISOString(),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt.toISOString() }),
    };
    return { version: 1, uses };
  }

  async #load(): Promise<LedgerFile> {
    return this.#parse(await this.#store.read(TOKEN_USES_FILE));
  }

  // A damaged ledger stops joins instead of being reset: an empty one would let tokens be reused.
  #parse(text: string | undefined): LedgerFile {
    if (text === undefined) return { version: 1, uses: {} };
    try {
      const value = JSON.parse(text) as Partial<LedgerFile> | null;
      if (value?.version !== 1 || typeof value.uses !== 'object' || value.uses === null) throw new TypeError('unexpected shape');
      return { version: 1, uses: value.uses };
    } catch (cause) {
      throw new CertificateStoreError(
        'CORRUPT_FILE',
        `${TOKEN_USES_FILE} in ${this.#store.location} cannot be read; restore it from backup — deleting it lets ` +
          'unexpired join tokens be used by a second node',
        { cause },
      );
    }
  }
}

// 0600 like the keys beside it: which token id joined which node is nobody else's business
function ledgerEntry(ledger: LedgerFile): StoreEntry {
  return { name: TOKEN_USES_FILE, content: `${JSON.stringify(ledger, null, 2)}\n`, secret: true };
}
