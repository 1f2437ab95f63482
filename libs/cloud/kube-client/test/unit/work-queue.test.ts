// The rate-limited work queue: a key waits once however often it is added, is never processed twice at
// once, and a failing key comes back after doubling delays instead of spinning.
import { createLogger } from '@kedge/telemetry';
import { waitFor } from '@kedge/testkit';
import { describe, expect, it } from 'vitest';
import { WorkQueue, type WorkQueueOptions } from '../../src/work-queue';

const logger = createLogger({ name: 'queue-test', level: 'silent' });

function queue(reconcile: WorkQueueOptions['reconcile'], results: string[] = []): WorkQueue {
  return new WorkQueue({
    name: 'test',
    logger,
    reconcile,
    classifyFailure: () => 'error',
    onResult: (result) => results.push(result),
    onDepth: () => undefined,
    baseDelayMs: 20,
    maxDelayMs: 200,
    workers: 4,
  });
}

describe('work queue', () => {
  it('work queue - a key added many times while waiting is processed once, and never concurrently with itself', async () => {
    let running = 0;
    let overlapped = false;
    const seen: string[] = [];
    const work = queue(async (key) => {
      running += 1;
      if (running > 1) overlapped = true;
      seen.push(key);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
    });
    for (let i = 0; i < 10; i++) work.add('a');
    await waitFor(() => seen.length === 1, 'the first pass');
    // added while being processed: exactly one more pass afterwards
    work.add('a');
    work.add('a');
    await waitFor(() => seen.length === 2, 'the second pass');
    await work.idle();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual(['a', 'a']);
    expect(overlapped).toBe(false);
    work.stop();
  });

  it('work queue - a failing key is retried with doubling delays up to the maximum, and a success resets them', async () => {
    const times: number[] = [];
    let failUntil = 6;
    const results: string[] = [];
    const work = queue(async () => {
      times.push(Date.now());
      if (times.length < failUntil) throw new Error('broken spec');
    }, results);
    work.add('bad');
    await waitFor(() => times.length === 6, 'six attempts', { timeoutMs: 5_000 });
    const gaps = times.slice(1).map((at, index) => at - (times[index] as number));
    // 20, 40, 80, 160 ms, then capped at 200 ms (timers may fire a little late, never early)
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[3]).toBeGreaterThanOrEqual(150);
    expect(gaps[4]).toBeGreaterThanOrEqual(190);
    expect(gaps[4]).toBeLessThan(400);
    expect(results).toEqual(['error', 'error', 'error', 'error', 'error', 'success']);
    failUntil = 8;
    work.add('bad');
    await waitFor(() => times.length === 8, 'a fresh failure after the success', { timeoutMs: 5_000 });
    expect((times[7] as number) - (times[6] as number)).toBeLessThan(150);
    work.stop();
  });

  it('work queue - a key is processed on a later turn, never inside add(), so a watch callback is not re-entered', async () => {
    const order: string[] = [];
    const work = new WorkQueue({ name: 'sync', logger, reconcile: (key) => void order.push(`reconcile ${key}`) });
    work.add('a');
    order.push('add returned');
    await waitFor(() => order.length === 2, 'the reconcile');
    expect(order).toEqual(['add returned', 'reconcile a']);
    work.stop();
  });

  it('work queue - stop drops what waits and idle() resolves', async () => {
    const seen: string[] = [];
    const work = new WorkQueue({ name: 'stopped', logger, reconcile: (key) => void seen.push(key) });
    work.add('a');
    work.addAfter('b', 10);
    const idle = work.idle();
    work.stop();
    await idle;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(seen).toEqual([]);
  });
});
