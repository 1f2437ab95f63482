// Revoked node certificates, kept with the CA (the file store or cloudcore's Secret) so that every
// cloudcore and `kedgeadm node revoke` see the same list.
//
// A record revokes either every certificate of a node issued up to a moment (deleting the Node,
// `kedgeadm node revoke <name>`), or one certificate by serial (`--serial`). The CA keeps no list of
// what it issued, so "every certificate of the node" is expressed through notBefore: a certificate
// whose notBefore is at or before the cutoff is revoked. A certificate issued for that node later
// gets a notBefore after the cutoff (`earliestNotBefore`), so a node that joins again with a new
// token works while the certificates it had before stay refused.
//
// A record is kept only while a certificate it covers can still be valid: every such certificate was
// issued before the record's moment, so it expires at the latest `longestValidityDays` (the longest
// node-certificate validity any cloudcore sharing the CA declared, kept in the list) after it, plus a
// day for the backdated notBefore and clocks that disagree. Older records are dropped whenever the list
// is written, so a fleet that deletes nodes for years keeps a list of one validity period's worth.
import { CertificateStoreError } from './errors';
import { assertValidNodeName } from './node-name';
import { asStore } from './stored-authority';
import type { CertificateStore, StoreEntry } from './store';

export const REVOCATIONS_FILE = 'revoked-certificates.json';

/** What a revocation check needs to know about a presented certificate. */
export interface RevocationSubject {
  nodeName: string;
  /** hex, any case, leading zeros allowed */
  serialNumber: string;
  notBefore: Date;
}

export interface NodeRevocation {
  /** certificates of this node with notBefore at or before this moment (ISO 8601) are revoked */
  notBeforeUntil: string;
  revokedAt: string;
  /** why, for the operator: "node deleted", "kedgeadm node revoke" */
  reason: string;
}

export interface SerialRevocation {
  nodeName: string;
  revokedAt: string;
  reason: string;
}

/** Why a certificate is refused, for error messages and logs. */
export interface RevocationMatch {
  kind: 'node' | 'serial';
  nodeName: string;
  revokedAt: string;
  reason: string;
}

interface RevocationFile {
  version: 1;
  /** absent in lists written before pruning existed: such a list is never pruned until a cloudcore declares it */
  longestValidityDays?: number;
  nodes: Record<string, NodeRevocation>;
  serials: Record<string, SerialRevocation>;
}

const SERIAL = /^[0-9a-f]{1,64}$/;
const SECOND_MS = 1000;
const DAY_MS = 86_400_000;
/** the backdated notBefore (5 minutes) and clocks of several cloudcores that disagree */
const PRUNE_MARGIN_MS = DAY_MS;

/** A parsed, immutable revocation list. */
export class RevocationList {
  private constructor(private readonly file: RevocationFile) {}

  static empty(): RevocationList {
    return new RevocationList({ version: 1, nodes: {}, serials: {} });
  }

  /** Parses the stored text; a damaged list is an error, never an empty list (that would un-revoke). */
  static parse(text: string | undefined, location = 'the certificate store'): RevocationList {
    if (text === undefined) return RevocationList.empty();
    try {
      const value = JSON.parse(text) as Partial<RevocationFile> | null;
      if (value?.version !== 1 || !isPlainRecord(value.nodes) || !isPlainRecord(value.serials)) throw new TypeError('unexpected shape');
      const { longestValidityDays } = value;
      if (longestValidityDays !== undefined && !isValidityDays(longestValidityDays)) {
        throw new TypeError(`longestValidityDays ${JSON.stringify(longestValidityDays)} is not a positive whole number of days`);
      }
      const nodes: Record<string, NodeRevocation> = {};
      for (const [name, entry] of Object.entries(value.nodes)) {
        if (typeof entry?.notBeforeUntil !== 'string' || Number.isNaN(Date.parse(entry.notBeforeUntil))) {
          throw new TypeError(`node ${name} has no valid notBeforeUntil`);
        }
        nodes[name] = entry;
      }
      const serials: Record<string, SerialRevocation> = {};
      for (const [serial, entry] of Object.entries(value.serials)) {
        if (!SERIAL.test(serial) || typeof entry?.nodeName !== 'string') throw new TypeError(`serial ${serial} is not valid`);
        serials[serial] = entry;
      }
      return new RevocationList({ version: 1, ...(longestValidityDays === undefined ? {} : { longestValidityDays }), nodes, serials });
    } catch (cause) {
      throw new CertificateStoreError(
        'CORRUPT_FILE',
        `${REVOCATIONS_FILE} in ${location} cannot be read; restore it from backup — until then revoked node ` +
          'certificates cannot be told apart and every node certificate is refused',
        { cause },
      );
    }
  }

  get size(): number {
    return Object.keys(this.file.nodes).length + Object.keys(this.file.serials).length;
  }

  /** the longest node-certificate validity declared by a cloudcore of this CA; undefined: never pruned */
  get longestValidityDays(): number | undefined {
    return this.file.longestValidityDays;
  }

  /** This list declaring that certificates of up to `days` are issued (the longest declaration wins). */
  withLongestValidity(days: number): RevocationList {
    if (!isValidityDays(days)) throw new RangeError(`longestValidityDays must be a positive whole number of days, got ${days}`);
    if ((this.file.longestValidityDays ?? 0) >= days) return this;
    return new RevocationList({ ...this.file, longestValidityDays: days });
  }

  /**
   * This list without the records that can no longer cover a valid certificate (see the top of this
   * file); the same list when there is nothing to drop or no validity was declared.
   */
  pruned(now: Date = new Date()): RevocationList {
    const days = this.file.longestValidityDays;
    if (days === undefined) return this;
    const oldestKept = now.getTime() - days * DAY_MS - PRUNE_MARGIN_MS;
    const keepNode = (entry: NodeRevocation) => Date.parse(entry.notBeforeUntil) >= oldestKept;
    const keepSerial = (entry: SerialRevocation) => !(Date.parse(entry.revokedAt) < oldestKept);
    const nodes = Object.entries(this.file.nodes).filter(([, entry]) => keepNode(entry));
    const serials = Object.entries(this.file.serials).filter(([, entry]) => keepSerial(entry));
    if (nodes.length + serials.length === this.size) return this;
    return new RevocationList({ ...this.file, nodes: Object.fromEntries(nodes), serials: Object.fromEntries(serials) });
  }

  /** The record that revokes this certificate, or undefined when it is not revoked. */
  check(subject: RevocationSubject): RevocationMatch | undefined {
    const serialNumber = normalizeSerial(subject.serialNumber);
    const serial = Object.hasOwn(this.file.serials, serialNumber) ? this.file.serials[serialNumber] : undefined;
    if (serial !== undefined) {
      return { kind: 'serial', nodeName: serial.nodeName, revokedAt: serial.revokedAt, reason: serial.reason };
    }
    const node = Object.hasOwn(this.file.nodes, subject.nodeName) ? this.file.nodes[subject.nodeName] : undefined;
    if (node !== undefined && subject.notBefore.getTime() <= Date.parse(node.notBeforeUntil)) {
      return { kind: 'node', nodeName: subject.nodeName, revokedAt: node.revokedAt, reason: node.reason };
    }
    return undefined;
  }

  /**
   * The earliest notBefore a new certificate for this node may carry so that the node's revocation
   * does not cover it; undefined when the node has no node-wide revocation.
   */
  earliestNotBefore(nodeName: string): Date | undefined {
    const node = Object.hasOwn(this.file.nodes, nodeName) ? this.file.nodes[nodeName] : undefined;
    if (node === undefined) return undefined;
    // notBefore is stored with whole seconds: the next whole second after the cutoff
    return new Date((Math.floor(Date.parse(node.notBeforeUntil) / SECOND_MS) + 1) * SECOND_MS);
  }

  nodeRevocation(nodeName: string): NodeRevocation | undefined {
    return Object.hasOwn(this.file.nodes, nodeName) ? this.file.nodes[nodeName] : undefined;
  }

  /** This list with every certificate of `nodeName` issued up to `now` revoked (a later cutoff wins). */
  withNode(nodeName: string, reason: string, now: Date = new Date()): RevocationList {
    assertValidNodeName(nodeName);
    const previous = this.nodeRevocation(nodeName);
    if (previous !== undefined && Date.parse(previous.notBeforeUntil) >= now.getTime()) return this;
    const at = now.toISOString();
    return new RevocationList({ ...this.file, nodes: { ...this.file.nodes, [nodeName]: { notBeforeUntil: at, revokedAt: at, reason } } });
  }

  /** This list with one certificate revoked by serial number. */
  withSerial(serialNumber: string, nodeName: string, reason: string, now: Date = new Date()): RevocationList {
    assertValidNodeName(nodeName);
    const serial = normalizeSerial(serialNumber);
    if (!SERIAL.test(serial)) throw new RangeError(`serial number ${JSON.stringify(serialNumber)} is not hexadecimal`);
    if (Object.hasOwn(this.file.serials, serial)) return this;
    return new RevocationList({ ...this.file, serials: { ...this.file.serials, [serial]: { nodeName, revokedAt: now.toISOString(), reason } } });
  }

  /** the union of two lists (two cloudcores revoking at once); the later node cutoff wins */
  merge(other: RevocationList): RevocationList {
    const nodes = { ...this.file.nodes };
    for (const [name, entry] of Object.entries(other.file.nodes)) {
      const mine = nodes[name];
      if (mine === undefined || Date.parse(entry.notBeforeUntil) > Date.parse(mine.notBeforeUntil)) nodes[name] = entry;
    }
    const longest = Math.max(this.file.longestValidityDays ?? 0, other.file.longestValidityDays ?? 0);
    return new RevocationList({
      version: 1,
      ...(longest > 0 ? { longestValidityDays: longest } : {}),
      nodes,
      serials: { ...other.file.serials, ...this.file.serials },
    });
  }

  toText(): string {
    return `${JSON.stringify(this.file, null, 2)}\n`;
  }
}

/**
 * Reads and changes the revocation list in a CertificateStore. Changes go through the store's
 * compare-and-swap when it has one (a Secret shared by several cloudcores), so a revocation is
 * never lost to a concurrent writer.
 */
export class RevocationStore {
  readonly #store: CertificateStore;
  readonly #now: () => Date;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: CertificateStore | string, options: { now?: () => Date } = {}) {
    this.#store = asStore(store);
    this.#now = options.now ?? (() => new Date());
  }

  get location(): string {
    return this.#store.location;
  }

  async load(): Promise<RevocationList> {
    return RevocationList.parse(await this.#store.read(REVOCATIONS_FILE), this.#store.location);
  }

  /** Revokes every certificate of `nodeName` issued up to now; resolves with the stored list. */
  revokeNode(nodeName: string, reason: string, now: Date = new Date()): Promise<RevocationList> {
    return this.#change((list) => list.withNode(nodeName, reason, now));
  }

  revokeSerial(serialNumber: string, nodeName: string, reason: string, now: Date = new Date()): Promise<RevocationList> {
    return this.#change((list) => list.withSerial(serialNumber, nodeName, reason, now));
  }

  /**
   * Declares that node certificates of up to `days` are issued from this CA, before the first one is:
   * records are pruned only after the longest declared validity has passed.
   */
  declareValidity(days: number): Promise<RevocationList> {
    return this.#change((list) => list.withLongestValidity(days));
  }

  /** Stores the union of the stored list and `list` (revocations decided while the store was unreachable). */
  merge(list: RevocationList): Promise<RevocationList> {
    return this.#change((stored) => {
      const merged = stored.merge(list);
      return merged.toText() === stored.toText() ? stored : merged;
    });
  }

  #change(edit: (list: RevocationList) => RevocationList): Promise<RevocationList> {
    const result = this.#queue.then(async () => {
      let stored: RevocationList | undefined;
      if (this.#store.update) {
        await this.#store.update([REVOCATIONS_FILE], (current) => {
          const before = RevocationList.parse(current.get(REVOCATIONS_FILE), this.#store.location);
          stored = edit(before).pruned(this.#now());
          return stored === before ? undefined : [entryOf(stored)];
        });
        return stored ?? this.load();
      }
      const before = await this.load();
      stored = edit(before).pruned(this.#now());
      if (stored !== before) await this.#store.write([entryOf(stored)]);
      return stored;
    });
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

function entryOf(list: RevocationList): StoreEntry {
  return { name: REVOCATIONS_FILE, content: list.toText() };
}

/** lowercase hex without leading zeros, as serials compare */
export function normalizeSerial(serialNumber: string): string {
  const hex = serialNumber.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
  return hex;
}

function isValidityDays(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
