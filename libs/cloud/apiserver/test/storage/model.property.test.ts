// Model-based test: random create/update/delete/compact/reopen sequences run against the store and a
// plain Map; outcomes, reads at every retained revision, and watch replays must agree with the model.
import fc from 'fast-check';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { openSqliteStorage } from '../../src/storage/index';
import type { SqliteObjectStorage, StorageEvent, StoredObject } from '../../src/storage/index';
import type { StoreFixture } from './helpers';
import { applyEvents, settled, storeFixture } from './helpers';

const KEYS = ['/registry/core/pods/a/x', '/registry/core/pods/a/y', '/registry/core/pods/ab/x', '/registry/apps/deployments/a/x'];
const PREFIXES = ['', '/registry/', '/registry/core/pods/', '/registry/core/pods/a/', '/registry/core/pods/ab/', '/registry/apps/'];

type Op =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; stale: boolean; value: string }
  | { kind: 'delete'; key: string; check: 'none' | 'current' | 'stale' }
  | { kind: 'compact'; keep: number }
  | { kind: 'reopen' };

const key = fc.constantFrom(...KEYS);
const value = fc.json({ maxDepth: 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), key, value }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), key, stale: fc.boolean(), value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key, check: fc.constantFrom('none' as const, 'current' as const, 'stale' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), keep: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

class Model {
  objects = new Map<string, StoredObject>();
  revision = 0;
  compacted = 0;
  /** history[r] = live objects after revision r */
  history: Array<Map<string, StoredObject>> = [new Map()];

  /** the outcome the store must report: a result or an error code */
  apply(operation: Op): StoredObject | string | number | undefined {
    const live = 'key' in operation ? this.objects.get(operation.key) : undefined;
    switch (operation.kind) {
      case 'create':
        if (live !== undefined) return 'KEY_EXISTS';
        return this.write(operation.key, { key: operation.key, revision: this.revision + 1, createRevision: this.revision + 1, value: operation.value });
      case 'update':
        if (live === undefined) return 'KEY_NOT_FOUND';
        if (operation.stale) return 'REVISION_CONFLICT';
        return this.write(operation.key, { ...live, revision: this.revision + 1, value: operation.value });
      case 'delete':
        if (live === undefined) return 'KEY_NOT_FOUND';
        if (operation.check === 'stale') return 'REVISION_CONFLICT';
        this.write(operation.key, undefined);
        return { ...live, revision: this.revision };
      case 'compact':
        this.compacted = Math.max(this.compacted, this.revision - operation.keep);
        return this.compacted;
      case 'reopen':
        return undefined;
    }
  }

  private write(name: string, object: StoredObject | undefined): StoredObject | undefined {
    this.revision += 1;
    if (object === undefined) this.objects.delete(name);
    else this.objects.set(name, object);
    this.history[this.revision] = new Map(this.objects);
    return object;
  }
}

/** a revision that is not the key's current one (and still a valid argument) */
function staleRevision(current: StoredObject | undefined): number {
  if (current === undefined) return 1;
  return current.revision > 1 ? current.revision - 1 : current.revision + 1;
}

function run(store: SqliteObjectStorage, operation: Op): StoredObject | string | number | undefined {
  try {
    switch (operation.kind) {
      case 'create':
        return store.create(operation.key, operation.value);
      case 'update': {
        const current = store.get(operation.key);
        const expected = operation.stale ? staleRevision(current) : (current?.revision ?? 1);
        return store.update(operation.key, expected, operation.value);
      }
      case 'delete': {
        const current = store.get(operation.key);
        if (operation.check === 'none') return store.delete(operation.key);
        const expected = operation.check === 'stale' ? staleRevision(current) : (current?.revision ?? 1);
        return store.delete(operation.key, expected);
      }
      case 'compact':
        return store.compact(operation.keep);
      case 'reopen':
        return undefined;
    }
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

function sorted(objects: Map<string, StoredObject>, prefix: string): StoredObject[] {
  return [...objects.values()].filter((object) => object.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

let fx: StoreFixture;
beforeEach(async () => {
  fx = await storeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

test('model - random operation sequences match a Map model in results, reads at every revision and watch replays', async () => {
  let runIndex = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (operations) => {
      const file = join(fx.dir, `run-${(runIndex += 1)}.db`);
      const model = new Model();
      let store = openSqliteStorage({ file, compactIntervalMs: 0 });
      const live: StorageEvent[] = [];
      const watchLive = (from: number) => store.watch('', from, (event) => live.push(event));
      try {
        watchLive(0);
        for (const operation of operations) {
          const expected = model.apply(operation);
          if (operation.kind === 'reopen') {
            store.close();
            store = openSqliteStorage({ file, compactIntervalMs: 0 });
            watchLive(model.revision);
          }
          expect(run(store, operation)).toEqual(expected);
          expect(store.currentRevision()).toBe(model.revision);
        }

        expect(store.compactedRevision()).toBe(model.compacted);
        for (const name of KEYS) expect(store.get(name)).toEqual(model.objects.get(name));
        for (const prefix of PREFIXES) expect(store.list(prefix)).toEqual({ items: sorted(model.objects, prefix), revision: model.revision, more: false });
        for (let revision = model.compacted; revision <= model.revision; revision += 1) {
          const pages: StoredObject[] = [];
          let page = store.list('', { limit: 2, atRevision: revision });
          pages.push(...page.items);
          while (page.more) {
            page = store.list('', { limit: 2, atRevision: revision, startAfterKey: page.items.at(-1)?.key });
            pages.push(...page.items);
          }
          expect(pages).toEqual(sorted(model.history[revision] ?? new Map(), ''));
        }

        // group commit tells watchers once the writes are on disk
        await settled(store);
        // list at the compacted revision + watch from it = the final state; from 0 when nothing was compacted
        const replayed: StorageEvent[] = [];
        store.watch('', model.compacted, (event) => replayed.push(event));
        expect(replayed.map((event) => event.revision)).toEqual(Array.from({ length: model.revision - model.compacted }, (_, i) => model.compacted + i + 1));
        const base = new Map(sorted(model.history[model.compacted] ?? new Map(), '').map((object) => [object.key, object.value]));
        const finalState = new Map([...model.objects].map(([name, object]) => [name, object.value]));
        expect(applyEvents(base, replayed)).toEqual(finalState);
        // the live watchers (re-registered after each reopen) saw every revision once, in order
        expect(live.map((event) => event.revision)).toEqual(Array.from({ length: model.revision }, (_, i) => i + 1));
        expect(applyEvents(new Map(), live)).toEqual(finalState);
        if (model.compacted === 0) expect(replayed).toEqual(live);
      } finally {
        store.close();
      }
    }),
    { numRuns: 40 },
  );
});
