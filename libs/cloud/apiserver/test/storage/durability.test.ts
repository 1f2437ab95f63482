import { afterEach, beforeEach, expect, test } from 'vitest';
import type { StoreFixture } from './helpers';
import { exitOf, killFixtures, spawnFixture, storeFixture } from './helpers';

let fx: StoreFixture;
beforeEach(async () => {
  fx = await storeFixture();
});
afterEach(async () => {
  await killFixtures();
  await fx.cleanup();
});

/** runs the writer until it has acknowledged at least `count` writes, then SIGKILLs it mid-burst */
async function writeThenKill(round: number, count: number): Promise<Array<{ key: string; revision: number }>> {
  const child = spawnFixture('acked-writer.ts', [fx.file, String(round)]);
  const exited = exitOf(child);
  const acked: Array<{ key: string; revision: number }> = [];
  let buffered = '';
  await new Promise<void>((resolve, reject) => {
    exited.then((code) => reject(new Error(`writer exited early with ${code}`)), reject);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      // the last piece may be half a line; only whole lines are acknowledgements
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [key, revision] = line.split(' ');
        if (key !== undefined && revision !== undefined) acked.push({ key, revision: Number(revision) });
      }
      if (acked.length >= count && child.signalCode === null) {
        // kill by pid while the child is still writing; its later acknowledgements are dropped below
        child.kill('SIGKILL');
        resolve();
      }
    });
  });
  // lines already in the pipe when the kill landed are acknowledgements too: read to the end of stdout
  await new Promise((resolve) => (child.stdout.readableEnded ? resolve(undefined) : child.stdout.once('end', resolve)));
  await exited.catch(() => undefined);
  expect(child.signalCode).toBe('SIGKILL');
  return acked;
}

test('durability - every write acknowledged before a SIGKILL is present after reopening, with its revision', async () => {
  const everything: Array<{ key: string; revision: number }> = [];
  for (const [round, count] of [
    [1, 40],
    [2, 150],
    [3, 90],
  ] as const) {
    const acked = await writeThenKill(round, count);
    expect(acked.length).toBeGreaterThanOrEqual(count);
    // revisions keep increasing across crashes
    expect(acked[0]?.revision).toBeGreaterThan(everything.at(-1)?.revision ?? 0);
    everything.push(...acked);

    const store = fx.open();
    const missing = everything.filter(({ key, revision }) => store.get(key)?.revision !== revision);
    expect(missing).toEqual([]);
    expect(store.currentRevision()).toBeGreaterThanOrEqual(everything.at(-1)?.revision ?? 0);
    store.close();
  }
});
