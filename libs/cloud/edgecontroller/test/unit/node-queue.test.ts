import type { Message } from '@kedge/protocol';
import { describe, expect, it } from 'vitest';
import { NodeQueue, type QueueItem } from '../../src/node-queue';
import { objectKey, type SyncType } from '../../src/objects';

interface Harness {
  queue: NodeQueue;
  sent: Message[];
  clock: { t: number };
  counts: { resent: number; acked: number; drained: number };
}

function harness(options: { maxInFlight?: number; maxQueued?: number } = {}): Harness {
  const sent: Message[] = [];
  const clock = { t: 0 };
  const counts = { resent: 0, acked: 0, drained: 0 };
  const queue = new NodeQueue({
    node: 'n1',
    maxInFlight: options.maxInFlight ?? 32,
    maxQueued: options.maxQueued ?? 1_000,
    resendIntervalMs: 5_000,
    maxResendIntervalMs: 60_000,
    send: async (message) => {
      sent.push(message);
    },
    now: () => clock.t,
    hooks: {
      sent: () => undefined,
      resent: () => (counts.resent += 1),
      acked: () => (counts.acked += 1),
      sendFailed: () => undefined,
      drained: () => (counts.drained += 1),
    },
  });
  return { queue, sent, clock, counts };
}

function item(type: SyncType, name: string, resourceVersion: string, kind: 'upsert' | 'delete' = 'upsert'): QueueItem {
  const namespace = type === 'node' ? undefined : 'apps';
  return { key: objectKey(type, namespace, name), kind, resourceVersion, object: { metadata: { name, namespace, resourceVersion } } };
}

const shown = (m: Message) => `${m.route.operation} ${m.route.resource}@${m.header.resourceversion ?? ''}`;

describe('node queue - coalescing', () => {
  it('a newer version replaces a queued one; only the latest is sent', () => {
    const { queue, sent } = harness({ maxInFlight: 1 });
    queue.enqueue(item('pod', 'blocker', '1'));
    queue.enqueue(item('pod', 'p', '2'));
    queue.enqueue(item('pod', 'p', '3'));
    queue.enqueue(item('pod', 'p', '4'));
    queue.ack(sent[0]?.header.msg_id ?? '');
    expect(sent.map(shown)).toEqual(['insert node/n1/apps/pod/blocker@1', 'insert node/n1/apps/pod/p@4']);
  });

  it('a delete of something the edge never had cancels the queued insert and sends nothing', () => {
    const { queue, sent } = harness({ maxInFlight: 1 });
    queue.enqueue(item('pod', 'blocker', '1'));
    queue.enqueue(item('pod', 'p', '2'));
    queue.enqueue(item('pod', 'p', '2', 'delete'));
    expect(queue.queued).toBe(0);
    queue.ack(sent[0]?.header.msg_id ?? '');
    expect(sent).toHaveLength(1);
  });

  it('a delete supersedes a queued update of an object the edge has', () => {
    const { queue, sent } = harness({ maxInFlight: 1 });
    queue.acked.set(objectKey('configmap', 'apps', 'c'), '1');
    queue.enqueue(item('pod', 'blocker', '1'));
    queue.enqueue(item('configmap', 'c', '5'));
    queue.enqueue(item('configmap', 'c', '5', 'delete'));
    queue.ack(sent[0]?.header.msg_id ?? '');
    expect(sent.map(shown)).toEqual(['insert node/n1/apps/pod/blocker@1', 'delete node/n1/apps/configmap/c@5']);
  });

  it('an object with a message in flight waits; the newest version goes after the ACK', () => {
    const { queue, sent } = harness();
    queue.enqueue(item('pod', 'p', '1'));
    queue.enqueue(item('pod', 'p', '2'));
    queue.enqueue(item('pod', 'p', '3'));
    expect(sent).toHaveLength(1);
    queue.ack(sent[0]?.header.msg_id ?? '');
    expect(sent.map(shown)).toEqual(['insert node/n1/apps/pod/p@1', 'update node/n1/apps/pod/p@3']);
  });
});

describe('node queue - order and window', () => {
  it('sends the node, then configmaps and secrets, then services, then pods, then deletes', () => {
    const { queue, sent } = harness({ maxInFlight: 1 });
    queue.acked.set(objectKey('secret', 'apps', 'old'), '1');
    queue.acked.set(objectKey('pod', 'apps', 'gone'), '1');
    queue.enqueue(item('pod', 'blocker', '1'));
    queue.enqueue(item('secret', 'old', '1', 'delete'));
    queue.enqueue(item('pod', 'web', '10'));
    queue.enqueue(item('service', 'svc', '11'));
    queue.enqueue(item('pod', 'gone', '1', 'delete'));
    queue.enqueue(item('secret', 's', '12'));
    queue.enqueue(item('configmap', 'c', '13'));
    queue.enqueue(item('node', 'n1', '14'));
    for (let i = 0; i < 8; i += 1) queue.ack(sent[i]?.header.msg_id ?? '');
    expect(sent.map(shown)).toEqual([
      'insert node/n1/apps/pod/blocker@1',
      'insert node/n1/null/node/n1@14',
      'insert node/n1/apps/secret/s@12',
      'insert node/n1/apps/configmap/c@13',
      'insert node/n1/apps/service/svc@11',
      'insert node/n1/apps/pod/web@10',
      'delete node/n1/apps/pod/gone@1',
      'delete node/n1/apps/secret/old@1',
    ]);
  });

  it('keeps at most maxInFlight unacked; each ACK lets one more go', () => {
    const { queue, sent } = harness({ maxInFlight: 3 });
    for (let i = 0; i < 10; i += 1) queue.enqueue(item('pod', `p${i}`, String(i + 1)));
    expect(sent).toHaveLength(3);
    expect(queue.depth).toBe(10);
    queue.ack(sent[1]?.header.msg_id ?? '');
    expect(sent).toHaveLength(4);
    expect(queue.acked.get(objectKey('pod', 'apps', 'p1'))).toBe('2');
  });

  it('refuses beyond maxQueued and reports when it drained', () => {
    const { queue, sent, counts } = harness({ maxInFlight: 1, maxQueued: 2 });
    expect(queue.enqueue(item('pod', 'a', '1'))).toBe(true);
    expect(queue.enqueue(item('pod', 'b', '1'))).toBe(true);
    expect(queue.enqueue(item('pod', 'c', '1'))).toBe(true);
    expect(queue.enqueue(item('pod', 'd', '1'))).toBe(false);
    expect(queue.enqueue(item('pod', 'c', '2'))).toBe(true);
    queue.ack(sent[0]?.header.msg_id ?? '');
    expect(counts.drained).toBe(1);
  });
});

describe('node queue - resends', () => {
  it('resends the same message every interval three times, then with doubling intervals', () => {
    const { queue, sent, clock } = harness();
    queue.enqueue(item('pod', 'p', '1'));
    const resendTimes: number[] = [];
    for (clock.t = 0; clock.t <= 120_000; clock.t += 1_000) {
      const before = sent.length;
      queue.resendDue();
      if (sent.length > before) resendTimes.push(clock.t);
    }
    expect(resendTimes.slice(0, 6)).toEqual([5_000, 10_000, 15_000, 25_000, 45_000, 85_000]);
    expect(new Set(sent.map((m) => m.header.msg_id)).size).toBe(1);
  });

  it('an ACK stops resends; an unknown ACK is ignored', () => {
    const { queue, sent, clock, counts } = harness();
    queue.enqueue(item('pod', 'p', '1'));
    expect(queue.ack('not-ours')).toBe(false);
    expect(queue.ack(sent[0]?.header.msg_id ?? '')).toBe(true);
    clock.t = 100_000;
    queue.resendDue();
    expect(sent).toHaveLength(1);
    expect(counts).toMatchObject({ resent: 0, acked: 1 });
  });

  it('an edge error keeps the message for resend unless a newer version waits behind it', () => {
    const { queue, sent, clock } = harness();
    queue.enqueue(item('pod', 'p', '1'));
    queue.refused(sent[0]?.header.msg_id ?? '');
    clock.t = 5_000;
    queue.resendDue();
    expect(sent).toHaveLength(2);
    queue.enqueue(item('pod', 'p', '2'));
    queue.refused(sent[0]?.header.msg_id ?? '');
    expect(sent.map(shown).at(-1)).toBe('insert node/n1/apps/pod/p@2');
  });
});
