// Durability of report(): a child edgecore reports in a loop and is killed with SIGKILL; every report
// whose report() had returned must be in the outbox when the database is opened again.
import { join } from 'node:path';
import { newResponse, type Message } from '@kedge/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, openStore, spawnFixture, startEdge, tempDir, waitFor } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Runs a fixture that reports and prints `reported <n>` per turn; kills it with SIGKILL after `turns` turns. @returns the last turn it confirmed */
async function reportThenKill(fixture: string, file: string, turns: number): Promise<number> {
  const child = spawnFixture(cleanup, fixture, [file]);
  const confirmed = (): number => Math.max(0, ...[...child.stdout().matchAll(/reported (\d+)\n/g)].map((match) => Number(match[1])));
  await waitFor(() => confirmed() >= turns || child.exited(), `the child to confirm ${turns} turns`, { timeoutMs: 30_000, onTimeout: () => child.stderr() });
  expect(child.exited(), child.stderr()).toBe(false);
  expect(await child.kill()).toBe('SIGKILL');
  return confirmed();
}

const counterOf = (message: Message | undefined): number => (message?.content as { counter: number } | undefined)?.counter ?? -1;

describe('outbox durability', () => {
  it('outbox - kill -9 while reports that replace each other are queued: the newest per key survives, no other key is lost, and each arrives once', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const last = await reportThenKill('report-keys-forever.ts', file, 120);

    const store = openStore(cleanup, file);
    const queued = new Map(store.outbox.entries().map((entry) => [entry.resource, entry.message]));
    store.close();
    const pods = Array.from({ length: 8 }, (_, i) => `default/podstatus/p${i}`);
    const devices = Array.from({ length: 8 }, (_, i) => `default/twin/d${i}`);
    // every event of a confirmed turn (each its own key) is still there, none merged into another
    const events = Array.from({ length: Math.floor(last / 10) }, (_, i) => `default/event/e${(i + 1) * 10}`);
    for (const key of [...pods, ...devices, ...events]) expect(queued.has(key), key).toBe(true);
    // one row per key: the newest replaced the older; it may be newer than the last confirmed turn
    for (const [i, key] of pods.entries()) {
      const newestConfirmed = last - ((last - i + 8) % 8);
      expect(counterOf(queued.get(key)), key).toBeGreaterThanOrEqual(newestConfirmed);
    }
    for (const key of devices) expect(counterOf(queued.get(key)), key).toBeGreaterThanOrEqual(last);
    for (const key of events) expect(counterOf(queued.get(key)), key).toBe(Number(key.slice('default/event/e'.length)));

    // the next edgecore sends them: the cloud gets each key once, with the state that survived
    const edge = startEdge(cleanup, { file, connected: true });
    edge.hub.onSend = (message) => queueMicrotask(() => void edge.router.dispatch(newResponse(message, 'OK', 'cloudhub')));
    await waitFor(() => edge.store.outbox.depth() === 0, 'the outbox to drain', { timeoutMs: 30_000 });
    const arrived = edge.hub.sent.filter((message) => message.route.operation !== 'response');
    expect(arrived.map((message) => message.route.resource).sort()).toEqual([...queued.keys()].sort());
    for (const message of arrived) expect(counterOf(message), message.route.resource).toBe(counterOf(queued.get(message.route.resource)));
  });

  it('outbox - after kill -9 of an edgecore whose report() returned, the report is in the outbox', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const lastConfirmed = await reportThenKill('report-forever.ts', file, 50);

    const store = openStore(cleanup, file);
    const entries = store.outbox.entries();
    expect(entries.map((entry) => entry.resource).sort()).toEqual(['default/podstatus/web', 'null/nodestatus/gw-1']);
    const web = entries.find((entry) => entry.resource === 'default/podstatus/web');
    // the latest report wins; it may be one the child made after its last line reached us
    expect((web?.message.content as { counter: number }).counter).toBeGreaterThanOrEqual(lastConfirmed);
  });
});
