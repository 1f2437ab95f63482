import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { RevisionCompactedError } from '../../src/storage/index';
import type { StorageEvent } from '../../src/storage/index';
import type { StoreFixture } from './helpers';
import { applyEvents, settled, storeFixture, summary, thrown } from './helpers';

const PODS = '/registry/core/pods/default/';

let fx: StoreFixture;
beforeEach(async () => {
  fx = await storeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

describe('watch', () => {
  test('watch - replay from revision N delivers exactly the events after N, with values and prevValues', async () => {
    const store = fx.open();
    store.create('/a', 'a1'); // 1
    store.create('/b', 'b1'); // 2
    store.update('/a', 1, 'a2'); // 3
    store.delete('/b'); // 4
    store.create('/b', 'b2'); // 5
    const fromTwo: StorageEvent[] = [];
    await settled(store);
    store.watch('/', 2, (event) => fromTwo.push(event));
    await settled(store);
    expect(fromTwo).toStrictEqual([
      { type: 'MODIFIED', key: '/a', revision: 3, value: 'a2', prevValue: 'a1' },
      { type: 'DELETED', key: '/b', revision: 4, value: 'b1', prevValue: 'b1' },
      { type: 'ADDED', key: '/b', revision: 5, value: 'b2' },
    ]);
    const fromZero: StorageEvent[] = [];
    await settled(store);
    store.watch('/', 0, (event) => fromZero.push(event));
    await settled(store);
    expect(fromZero.map((event) => event.revision)).toEqual([1, 2, 3, 4, 5]);
    const fromNow: StorageEvent[] = [];
    await settled(store);
    store.watch('/', 5, (event) => fromNow.push(event));
    await settled(store);
    expect(fromNow).toEqual([]);
  });

  test('watch - live events equal what a replay of the same revisions gives', async () => {
    const store = fx.open();
    const live: StorageEvent[] = [];
    await settled(store);
    store.watch('/', 0, (event) => live.push(event));
    store.create('/a', 'a1');
    store.update('/a', 1, 'a2');
    store.delete('/a', 2);
    store.create('/a', 'a3');
    const replayed: StorageEvent[] = [];
    await settled(store);
    store.watch('/', 0, (event) => replayed.push(event));
    await settled(store);
    expect(live).toStrictEqual(replayed);
  });

  test('watch - live events are delivered once each, in order, once on disk and never before', async () => {
    const store = fx.open();
    const events: StorageEvent[] = [];
    store.watch(PODS, 0, (event) => events.push(event));
    for (let index = 0; index < 20; index += 1) {
      const written = store.create(`${PODS}p${index}`, String(index));
      // group commit: committed, but not told to watchers before the fsync that covers it
      expect(events.at(-1)?.revision ?? 0).toBe(written.revision - 1);
      await store.whenDurable();
      expect(events.at(-1)?.revision).toBe(written.revision);
    }
    await settled(store);
    expect(events.map((event) => event.revision)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
  });

  test('watch - a watcher started mid-stream from the revision a list returned sees no gap and no duplicate', async () => {
    const store = fx.open();
    let listed: Map<string, string> | undefined;
    let listedAt = 0;
    const events: StorageEvent[] = [];
    for (let step = 0; step < 60; step += 1) {
      const key = `${PODS}p${step % 7}`;
      const current = store.get(key);
      if (current === undefined) store.create(key, `v${step}`);
      else if (step % 5 === 0) store.delete(key, current.revision);
      else store.update(key, current.revision, `v${step}`);
      if (step === 25) {
        const list = store.list(PODS);
        listed = new Map(list.items.map((item) => [item.key, item.value]));
        listedAt = list.revision;
        store.watch(PODS, list.revision, (event) => events.push(event));
      }
    }
    const final = store.list(PODS);
    await settled(store);
    expect(events.map((event) => event.revision)).toEqual(Array.from({ length: final.revision - listedAt }, (_, index) => listedAt + index + 1));
    expect(applyEvents(listed ?? new Map(), events)).toEqual(new Map(final.items.map((item) => [item.key, item.value])));
  });

  test('watch - only keys under the prefix are delivered, in replay and live', async () => {
    const store = fx.open();
    store.create(`${PODS}a`, '1');
    store.create('/registry/core/pods/default2/a', '1');
    const events: StorageEvent[] = [];
    await settled(store);
    store.watch(PODS, 0, (event) => events.push(event));
    store.create('/registry/core/pods/default2/b', '1');
    store.create(`${PODS}b`, '1');
    store.create('/registry/core/pods/defaul', '1');
    await settled(store);
    expect(summary(events)).toEqual([`ADDED ${PODS}a@1`, `ADDED ${PODS}b@4`]);
  });

  test('watch - afterRevision below the compacted revision throws RevisionCompactedError; at it, replay is complete', async () => {
    const store = fx.open();
    store.create('/k', '1');
    store.update('/k', 1, '2');
    store.update('/k', 2, '3');
    store.update('/k', 3, '4');
    await settled(store);
    expect(store.compact(2)).toBe(2);
    const error = thrown(() => store.watch('/', 1, () => undefined));
    await settled(store);
    expect(error).toBeInstanceOf(RevisionCompactedError);
    expect(error).toMatchObject({ code: 'REVISION_COMPACTED', key: '/', requestedRevision: 1, compactedRevision: 2 });
    const events: StorageEvent[] = [];
    await settled(store);
    store.watch('/', 2, (event) => events.push(event));
    await settled(store);
    expect(events).toStrictEqual([
      { type: 'MODIFIED', key: '/k', revision: 3, value: '3', prevValue: '2' },
      { type: 'MODIFIED', key: '/k', revision: 4, value: '4', prevValue: '3' },
    ]);
  });

  test('watch - a throwing listener is reported through onListenerError and disturbs neither the store nor other watchers', async () => {
    const reported: Array<{ error: unknown; revision: number }> = [];
    const store = fx.open({ onListenerError: (error, event) => reported.push({ error, revision: event.revision }) });
    store.create('/k', '0');
    await settled(store);
    store.watch('/', 0, () => {
      throw new Error('listener bug');
    });
    const healthy: number[] = [];
    await settled(store);
    store.watch('/', 0, (event) => healthy.push(event.revision));
    expect(store.update('/k', 1, '1').revision).toBe(2);
    await settled(store);
    expect(healthy).toEqual([1, 2]);
    expect(reported.map((report) => report.revision)).toEqual([1, 2]);
    expect(reported[0]?.error).toMatchObject({ message: 'listener bug' });
    expect(store.get('/k')?.value).toBe('1');
  });

  test('watch - a failing error reporter is contained as well', async () => {
    const store = fx.open({
      onListenerError: () => {
        throw new Error('reporter bug');
      },
    });
    await settled(store);
    store.watch('/', 0, () => {
      throw new Error('listener bug');
    });
    expect(store.create('/k', '1').revision).toBe(1);
    await settled(store);
    expect(store.get('/k')?.value).toBe('1');
  });

  test('watch - writes from inside a listener are delivered after the current event, to every watcher in order', async () => {
    const store = fx.open();
    const first: string[] = [];
    const second: string[] = [];
    await settled(store);
    store.watch('/', 0, (event) => {
      first.push(`${event.key}@${event.revision}`);
      if (event.key === '/a') store.create('/b', 'from listener');
    });
    await settled(store);
    store.watch('/', 0, (event) => {
      second.push(`${event.key}@${event.revision}`);
      if (event.key === '/b') store.create('/c', 'from second listener');
    });
    store.create('/a', '1');
    await settled(store);
    expect(first).toEqual(['/a@1', '/b@2', '/c@3']);
    expect(second).toEqual(first);
  });

  test('watch - a write made by the listener during its own replay is delivered to it right after the replay', async () => {
    const store = fx.open();
    store.create('/a', '1');
    store.create('/b', '1');
    const other: number[] = [];
    await settled(store);
    store.watch('/', 0, (event) => other.push(event.revision));
    const seen: number[] = [];
    await settled(store);
    store.watch('/', 0, (event) => {
      seen.push(event.revision);
      if (event.revision === 1) store.create('/c', 'written during replay');
    });
    await settled(store);
    expect(seen).toEqual([1, 2, 3]);
    expect(other).toEqual([1, 2, 3]);
  });

  test('watch - a watch started from inside a listener replays and then continues without gap or duplicate', async () => {
    const store = fx.open();
    store.create('/a', '1');
    const nested: number[] = [];
    await settled(store);
    const outer = store.watch('/', 0, (event) => {
      if (event.revision === 2) {
        // write so an event is queued behind the one being delivered, then watch from far back
        store.create('/c', '1');
        store.watch('/', 0, (inner) => {
          nested.push(inner.revision);
          if (inner.revision === 1) store.create('/d', 'written during replay');
        });
      }
    });
    store.create('/b', '1');
    store.create('/e', '1');
    await settled(store);
    outer.stop();
    await settled(store);
    expect(nested).toEqual([1, 2, 3, 4, 5]);
  });

  test('watch - compaction requested by a listener during a long replay does not remove rows the replay still needs', async () => {
    const store = fx.open();
    store.create('/k', '0');
    for (let revision = 1; revision < 600; revision += 1) store.update('/k', revision, String(revision));
    const seen: number[] = [];
    const compactedTo: number[] = [];
    await settled(store);
    store.watch('/', 0, (event) => {
      seen.push(event.revision);
      if (event.revision === 1) compactedTo.push(store.compact(0));
    });
    await settled(store);
    expect(seen).toEqual(Array.from({ length: 600 }, (_, index) => index + 1));
    expect(compactedTo).toEqual([0]);
    expect(store.compact(0)).toBe(600);
  });

  test('watch - stop ends delivery for that watcher only, and close ends all', async () => {
    const store = fx.open();
    const stopped: number[] = [];
    const kept: number[] = [];
    await settled(store);
    const handle = store.watch('/', 0, (event) => stopped.push(event.revision));
    await settled(store);
    store.watch('/', 0, (event) => kept.push(event.revision));
    store.create('/a', '1');
    await settled(store);
    handle.stop();
    await settled(store);
    handle.stop();
    store.create('/b', '1');
    await settled(store);
    expect(stopped).toEqual([1]);
    expect(kept).toEqual([1, 2]);
    store.create('/c', '1');
    // close makes the pending write durable and tells the watchers, then nothing more
    store.close();
    expect(kept).toEqual([1, 2, 3]);
  });

  test('watch - a future afterRevision delivers only events after it', async () => {
    const store = fx.open();
    const events: number[] = [];
    await settled(store);
    store.watch('/', 2, (event) => events.push(event.revision));
    for (const key of ['/a', '/b', '/c', '/d']) store.create(key, '1');
    await settled(store);
    expect(events).toEqual([3, 4]);
  });

  test('watch - writes through another connection reach watchers in revision order on the next local write or pollLog', async () => {
    const local = fx.open();
    const other = fx.open();
    const events: number[] = [];
    local.watch('/', 0, (event) => events.push(event.revision));
    other.create('/x', '1');
    other.create('/y', '1');
    await settled(local, other);
    expect(events).toEqual([]);
    local.create('/z', '1');
    await settled(local, other);
    expect(events).toEqual([1, 2, 3]);
    other.update('/x', 1, '2');
    await settled(local, other);
    local.pollLog();
    local.pollLog();
    expect(events).toEqual([1, 2, 3, 4]);
  });
});
