// The upstream outbox: one row per resource, so a newer status report replaces the queued one (latest
// wins). The replacement takes a new seq (the version a send removes) and keeps the row's place in line
// (position = the seq that first queued it): a resource reported faster than the link drains still gets
// its turn, where moving it to the back would starve it for as long as it keeps reporting.
import { isRecord } from '@kedge/kube-core';
import { Group, ProtocolError, parseEdgeResource } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import type BetterSqlite3 from 'better-sqlite3';
import { BadReportError } from '../errors';
import type { Statements } from './database';

/** Where a report stands in the send order, without its message (what the sender picks from). */
export interface OutboxHead {
  resource: string;
  seq: number;
  attempts: number;
}

export interface OutboxEntry {
  resource: string;
  /** the version queued: a newer report for the same resource gets a new, larger seq (and keeps the row's place in line) */
  seq: number;
  message: Message;
  /** sends that timed out since this report was queued */
  attempts: number;
  lastError: string | null;
}

/**
 * Groups the outbox carries: status reports (`resource`) and devicetwin reports (`twin`, resource
 * `<ns>/twin/<name>`); the outbox key (the resource) stays unique across both.
 */
const REPORT_GROUPS = new Set<string>([Group.Resource, Group.Twin]);

function checkReport(message: Message): string {
  if (!isRecord(message) || !isRecord(message.route) || !isRecord(message.header)) {
    throw new BadReportError('message', 'must be a message built with newMessage');
  }
  if (typeof message.header.msg_id !== 'string' || message.header.msg_id === '') throw new BadReportError('header.msg_id', 'is missing');
  if (!REPORT_GROUPS.has(message.route.group)) {
    throw new BadReportError('route.group', `must be "${Group.Resource}" or "${Group.Twin}" for a status report, got ${JSON.stringify(message.route.group)}`);
  }
  try {
    parseEdgeResource(message.route.resource);
  } catch (error) {
    if (error instanceof ProtocolError) throw new BadReportError('route.resource', error.message);
    throw error;
  }
  try {
    return JSON.stringify(message);
  } catch (error) {
    throw new BadReportError('content', `is not serialisable as JSON (${(error as Error).message})`);
  }
}

export class OutboxTable {
  readonly #settle: (resource: string, seq: number) => boolean;
  readonly #enqueue: (resource: string, text: string) => number;
  readonly #enqueueMany: (reports: { resource: string; text: string }[]) => number[];

  constructor(
    db: BetterSqlite3.Database,
    private readonly sql: Statements,
    private readonly assertOpen: (action: string) => void,
    /** a write committed: group commit makes it durable with the others of this turn */
    private readonly committed: () => void,
  ) {
    const put = (resource: string, text: string): number => {
      const seq = sql.nextOutboxSeq.get()?.value;
      if (seq === undefined) throw new Error('store_state has no outbox_seq row');
      sql.putOutbox.run(resource, seq, seq, text);
      return seq;
    };
    this.#enqueue = db.transaction(put);
    this.#settle = db.transaction((resource: string, seq: number) => {
      if (sql.removeOutbox.run(resource, seq).changes > 0) return true;
      const next = sql.nextOutboxSeq.get()?.value;
      if (next === undefined) throw new Error('store_state has no outbox_seq row');
      sql.requeueOutbox.run(next, resource);
      return false;
    });
    this.#enqueueMany = db.transaction((reports: { resource: string; text: string }[]) => reports.map(({ resource, text }) => put(resource, text)));
  }

  /**
   * Queues several reports in one transaction (one commit instead of one each), in order; as `enqueue`
   * for each. All or none: a report that is not serialisable refuses the whole call.
   * @returns their seqs. @throws BadReportError
   */
  enqueueMany(messages: Message[]): number[] {
    this.assertOpen('queue reports');
    const reports = messages.map((message) => ({ resource: message.route.resource, text: checkReport(message) }));
    if (reports.length === 0) return [];
    const seqs = this.#enqueueMany(reports);
    this.committed();
    return seqs;
  }

  /**
   * Queues a report, replacing a queued report for the same resource. When this returns it is
   * committed (safe from a process crash); it is on disk after the store's next group commit fsync
   * (`MetaStore.whenDurable`), and the sender sends nothing before that.
   * @returns the seq it was queued under. @throws BadReportError
   */
  enqueue(message: Message): number {
    this.assertOpen('queue a report');
    const text = checkReport(message);
    const seq = this.#enqueue(message.route.resource, text);
    this.committed();
    return seq;
  }

  /** Queued reports in send order, the longest-waiting resource first (the first `limit` of them, or all). */
  entries(limit = -1): OutboxEntry[] {
    this.assertOpen('read the outbox');
    return this.sql.outboxInOrder.all(limit).map((row) => ({
      resource: row.resource,
      seq: row.seq,
      message: JSON.parse(row.message) as Message,
      attempts: row.attempts,
      lastError: row.last_error,
    }));
  }

  /** The first `limit` queued reports' places in the send order, without reading or parsing their messages. */
  heads(limit: number): OutboxHead[] {
    this.assertOpen('read the outbox');
    return this.sql.outboxHeads.all(limit);
  }

  /** The message queued for `resource` under `seq`; undefined when a newer report replaced it or it left the outbox. */
  message(resource: string, seq: number): Message | undefined {
    this.assertOpen('read the outbox');
    const row = this.sql.outboxMessage.get(resource, seq);
    return row === undefined ? undefined : (JSON.parse(row.message) as Message);
  }

  depth(): number {
    this.assertOpen('read the outbox');
    return this.sql.outboxDepth.get()?.count ?? 0;
  }

  /** Removes the entry if it is still the one queued under `seq` (a newer report is kept). */
  remove(resource: string, seq: number): boolean {
    this.assertOpen('update the outbox');
    const removed = this.sql.removeOutbox.run(resource, seq).changes > 0;
    if (removed) this.committed();
    return removed;
  }

  /**
   * The report queued under `seq` was answered: it leaves the outbox. If a newer report replaced it meanwhile,
   * that one stays and goes to the back of the line (the resource just had its turn), so a resource reported
   * faster than the link drains is sent once per round of the queue, neither starved nor hogging the front.
   * @returns whether the answered report left the outbox (false: a newer one is queued)
   */
  settle(resource: string, seq: number): boolean {
    this.assertOpen('update the outbox');
    const removed = this.#settle(resource, seq);
    this.committed();
    return removed;
  }

  recordFailure(resource: string, seq: number, error: string): void {
    this.assertOpen('update the outbox');
    if (this.sql.failOutbox.run(error.slice(0, 500), resource, seq).changes > 0) this.committed();
  }
}
