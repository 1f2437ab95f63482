// Revoked node certificates, kept with the CA (the file store or cloudcore's Secret) so that every
// cloudcore and `kedgeadm node revoke` see the same list.
//
// A record revokes either every certificate of a node issued up to a moment (deleting the Node,
// `kedgeadm node revoke <name>`), or one certificate by serial (`--serial`). The CA keeps no list of
// what it issued, so "every certificate of the node" is expressed through notBefore: a certificate
// whose notBefore is at or before the cutoff is revoked. A certificate issued for that node later
// gets a notBefore after the cutoff (`earliestNotBefore`), so a node that joins again with a new
// token works while the certificates it had before stay refused.
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
  nodes: Record<string, NodeRevocation>;
  serials: Record<string, SerialRevocation>;
}

const SERIAL = /^[0-9a-f]{1,64}$/;
const SECOND_MS = 1000;

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
      return new RevocationList({ version: 1, nodes, serials });
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
    return new RevocationList({ version: 1, nodes, serials: { ...other.file.serials, ...this.file.serials } });
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
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: CertificateStore | string) {
    this.#store = asStore(store);
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
          stored = edit(before);
          return stored === before ? undefined : [entryOf(stored)];
        });
        return stored ?? this.load();
      }
      const before = await this.load();
      stored = edit(before);
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

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
