// Creations and deletions a controller has asked for but not yet seen in its pod informer (client-go's
// ControllerExpectations). Until they are seen, the controller must not count again, or a lagging
// cache would make it create a second batch. Expectations expire, so a lost event cannot wedge a key.
const EXPIRY_MS = 60_000;

interface Pending {
  adds: number;
  deletes: Set<string>;
  since: number;
}

export class Expectations {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly now: () => number) {}

  /** True when the controller may trust its cache for this key. */
  satisfied(key: string): boolean {
    const entry = this.pending.get(key);
    if (entry === undefined) return true;
    if ((entry.adds <= 0 && entry.deletes.size === 0) || this.now() - entry.since > EXPIRY_MS) {
      this.pending.delete(key);
      return true;
    }
    return false;
  }

  expect(key: string, adds: number, deletes: string[]): void {
    this.pending.set(key, { adds, deletes: new Set(deletes), since: this.now() });
  }

  /** A create that failed, or a pod add seen in the informer. */
  creationObserved(key: string): void {
    const entry = this.pending.get(key);
    if (entry !== undefined) entry.adds -= 1;
  }

  deletionObserved(key: string, podKey: string): void {
    this.pending.get(key)?.deletes.delete(podKey);
  }

  forget(key: string): void {
    this.pending.delete(key);
  }
}
