// Pod API access across an edgecore restart while the cloud is unreachable: the confirmed token reviews
// and read decisions PodAccess wrote to the edge database answer pods then, and only then (online the
// cloud decides). With a clock the test moves, a real SQLite file reopened as edgecore reopens it, a
// MetaServer restarted over it, and a child killed with SIGKILL right after it answered.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PodAccess, tokenDigest, type MetaStore, type PodAccessOptions } from '../src/index';
import { Cleanup, downMessage, openStore, spawnFixture, tempDir, waitFor } from './fixtures';
import { CountingCloud, jwt, listPods, reader } from './pod-api-fixtures';
import { startServer } from './server-fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const T0 = 1_800_000_000_000;
const listSecrets = { ...listPods, resource: 'secrets' };

/** One edgecore life: a store opened on `file` and a PodAccess over it, as edgecore wires them. */
function edgecoreLife(file: string, cloud: CountingCloud, now: () => number, options: Partial<PodAccessOptions> = {}): { store: MetaStore; access: PodAccess } {
  const store = openStore(cleanup, file);
  return { store, access: new PodAccess({ cloud, reviews: store.podReviews, now, ...options }) };
}

describe('pod access - after a restart offline', () => {
  it('restart - a token confirmed before the restart and the remembered decisions answer offline; an undecided read is a 503 reason', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    let now = T0;
    const cloud = new CountingCloud();
    const token = jwt(T0 / 1000 + 3600);
    cloud.valid.add(token);
    cloud.allowed.add('pods');
    const first = edgecoreLife(file, cloud, () => now);
    expect(await first.access.authenticate(token)).toMatchObject({ ok: true, offline: false });
    expect(await first.access.authorize(reader, token, listPods)).toEqual({ allowed: true });
    expect(await first.access.authorize(reader, token, listSecrets)).toMatchObject({ allowed: false, reason: 'forbidden' });
    first.store.close();

    cloud.connected = false;
    now += 20 * 60_000;
    const second = edgecoreLife(file, cloud, () => now);
    expect(await second.access.authenticate(token)).toEqual({ ok: true, user: reader, token, offline: true });
    expect(await second.access.authorize(reader, token, listPods)).toEqual({ allowed: true });
    expect(await second.access.authorize(reader, token, listSecrets)).toMatchObject({ allowed: false, reason: 'forbidden', message: expect.stringContaining('cannot list resource "secrets"') });
    expect(await second.access.authorize(reader, token, { ...listPods, resource: 'services' })).toMatchObject({ allowed: false, reason: 'cloud_unreachable' });
  });

  it('restart - online after a restart the cloud decides, not the database', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    let now = T0;
    const cloud = new CountingCloud();
    const token = jwt(T0 / 1000 + 3600);
    cloud.valid.add(token);
    cloud.allowed.add('pods');
    const first = edgecoreLife(file, cloud, () => now);
    await first.access.authenticate(token);
    expect(await first.access.authorize(reader, token, listPods)).toEqual({ allowed: true });
    first.store.close();

    now += 60_000;
    cloud.allowed.delete('pods');
    const second = edgecoreLife(file, cloud, () => now);
    const reviewsBefore = cloud.reviews;
    expect(await second.access.authenticate(token)).toMatchObject({ ok: true, offline: false });
    expect(cloud.reviews).toBe(reviewsBefore + 1);
    expect(await second.access.authorize(reader, token, listPods)).toMatchObject({ allowed: false, reason: 'forbidden' });
    // and the new answer is what offline remembers from now on
    second.store.close();
    cloud.connected = false;
    const third = edgecoreLife(file, cloud, () => now);
    expect(await third.access.authorize(reader, token, listPods)).toMatchObject({ allowed: false, reason: 'forbidden' });
  });

  it('attack - offline after a restart, a token whose digest is not stored is refused, even for a user with stored decisions', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const now = T0;
    const cloud = new CountingCloud();
    const confirmed = jwt(T0 / 1000 + 3600, 'signed-by-the-cluster');
    cloud.valid.add(confirmed);
    cloud.allowed.add('pods');
    const first = edgecoreLife(file, cloud, () => now);
    await first.access.authenticate(confirmed);
    await first.access.authorize(reader, confirmed, listPods);
    first.store.close();

    cloud.connected = false;
    const second = edgecoreLife(file, cloud, () => now);
    // same claims, another signature: a forgery the cloud never saw
    const forged = jwt(T0 / 1000 + 3600, 'forged');
    expect(await second.access.authenticate(forged)).toMatchObject({ ok: false, reason: 'cloud_unreachable', message: expect.stringContaining('never confirmed by the cloud') });
    expect(await second.access.authenticate('not-even-a-jwt')).toMatchObject({ ok: false, reason: 'cloud_unreachable' });
    expect(await second.access.authenticate(confirmed)).toMatchObject({ ok: true });
  });

  it('attack - a stored review whose token expired is refused offline after a restart (exp claim, and the default lifetime of a token without one)', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    let now = T0;
    const cloud = new CountingCloud();
    const token = jwt(T0 / 1000 + 600);
    const opaque = 'opaque-token-without-claims';
    cloud.valid.add(token);
    cloud.valid.add(opaque);
    const first = edgecoreLife(file, cloud, () => now, { defaultTokenTtlMs: 300_000 });
    await first.access.authenticate(token);
    await first.access.authenticate(opaque);
    first.store.close();

    cloud.connected = false;
    now += 1_000;
    const second = edgecoreLife(file, cloud, () => now, { defaultTokenTtlMs: 300_000 });
    expect(await second.access.authenticate(opaque)).toMatchObject({ ok: true, offline: true });
    // the rows are still there (pruning runs at start and on later writes): the expiry itself refuses
    now = T0 + 300_001;
    expect(await second.access.authenticate(token)).toMatchObject({ ok: true, offline: true });
    expect(await second.access.authenticate(opaque)).toMatchObject({ ok: false, reason: 'bad_token', message: expect.stringContaining('expired') });
    now = T0 + 600_000;
    expect(await second.access.authenticate(token)).toMatchObject({ ok: false, reason: 'bad_token', message: expect.stringContaining('expired') });
    expect(second.store.podReviews.counts().tokenReviews).toBe(2);
    second.store.close();
    // and the next start prunes them
    const third = edgecoreLife(file, cloud, () => now);
    expect(third.store.podReviews.counts().tokenReviews).toBe(0);
    expect(await third.access.authenticate(opaque)).toMatchObject({ ok: false, reason: 'cloud_unreachable' });
  });

  it('attack - a token the cloud refused after confirming it is forgotten: offline after a restart it is unknown', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    let now = T0;
    const cloud = new CountingCloud();
    const token = jwt(T0 / 1000 + 3600);
    cloud.valid.add(token);
    const first = edgecoreLife(file, cloud, () => now);
    await first.access.authenticate(token);
    first.store.close();

    // its pod was deleted: the next edgecore life asks the cloud (nothing in memory) and is told no
    cloud.valid.delete(token);
    now += 60_000;
    const second = edgecoreLife(file, cloud, () => now);
    expect(await second.access.authenticate(token)).toMatchObject({ ok: false, reason: 'bad_token' });
    second.store.close();

    cloud.connected = false;
    const third = edgecoreLife(file, cloud, () => now);
    expect(await third.access.authenticate(token)).toMatchObject({ ok: false, reason: 'cloud_unreachable' });
  });

  it('attack - the database holds token digests, never a token', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const cloud = new CountingCloud();
    const token = jwt(T0 / 1000 + 3600, 'a-secret-signature-that-must-not-be-on-disk');
    cloud.valid.add(token);
    cloud.allowed.add('pods');
    const { store, access } = edgecoreLife(file, cloud, () => T0);
    await access.authenticate(token);
    await access.authorize(reader, token, listPods);
    store.close();
    const bytes = Buffer.concat([readFileSync(file), ...[`${file}-wal`].map((wal) => { try { return readFileSync(wal); } catch { return Buffer.alloc(0); } })]);
    expect(bytes.includes('a-secret-signature-that-must-not-be-on-disk')).toBe(false);
    expect(bytes.includes(tokenDigest(token))).toBe(true);
  });

  it('prune - expired reviews, then decisions of users with no confirmed token, then the oldest beyond the bound, go', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    let now = T0;
    const cloud = new CountingCloud();
    const short = jwt(T0 / 1000 + 120, 'short');
    const long = jwt(T0 / 1000 + 7200, 'long');
    cloud.valid.add(short);
    cloud.valid.add(long);
    const { store, access } = edgecoreLife(file, cloud, () => now, { maxEntries: 3, pruneIntervalMs: 60_000 });
    await access.authenticate(short);
    for (const resource of ['pods', 'configmaps', 'services', 'endpoints']) {
      await access.authorize(reader, short, { ...listPods, resource });
      now += 1_000;
    }
    expect(store.podReviews.counts()).toEqual({ tokenReviews: 1, decisions: 4 });

    // a review written over a minute after the last prune prunes: the short token expired, its user still
    // has the long one, so the decisions stay, bounded to the newest 3
    now = T0 + 180_000;
    await access.authenticate(long);
    expect(store.podReviews.counts()).toEqual({ tokenReviews: 1, decisions: 3 });
    expect(store.podReviews.tokenReview(tokenDigest(short))).toBeUndefined();
    expect(store.podReviews.decision(JSON.stringify([reader.username, 'list', '', 'pods', '', 'plant', '']))).toBeUndefined();

    // once no token of the user is left, a restart prunes its decisions too
    store.close();
    now = T0 + 7_200_000;
    const later = edgecoreLife(file, cloud, () => now);
    expect(later.store.podReviews.counts()).toEqual({ tokenReviews: 0, decisions: 0 });
  });

  it('restart - MetaServer restarted offline on the same database serves a pod its remembered reads', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const cloud = new CountingCloud();
    const token = jwt(Math.floor(Date.now() / 1000) + 3600);
    cloud.valid.add(token);
    cloud.allowed.add('pods');
    const get = async (url: string, bearer: string): Promise<{ status: number; body: { kind?: string; items?: Array<{ metadata: { name: string } }>; message?: string } }> => {
      const response = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
      return { status: response.status, body: (await response.json()) as never };
    };

    const first = edgecoreLife(file, cloud, Date.now);
    first.store.apply(downMessage({ namespace: 'plant', name: 'sensor', rv: '5' }));
    const firstServer = await startServer(cleanup, first.store, { podAccess: first.access });
    expect((await get(`${firstServer.url}/api/v1/namespaces/plant/pods`, token)).status).toBe(200);
    await firstServer.close();
    first.store.close();

    cloud.connected = false;
    const second = edgecoreLife(file, cloud, Date.now);
    const secondServer = await startServer(cleanup, second.store, { podAccess: second.access });
    const pods = await get(`${secondServer.url}/api/v1/namespaces/plant/pods`, token);
    expect(pods.status).toBe(200);
    expect(pods.body.items?.map((pod) => pod.metadata.name)).toEqual(['sensor']);
    const secrets = await get(`${secondServer.url}/api/v1/namespaces/plant/secrets`, token);
    expect(secrets.status).toBe(503);
    const unknown = await get(`${secondServer.url}/api/v1/namespaces/plant/pods`, jwt(Math.floor(Date.now() / 1000) + 3600, 'other'));
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toContain('cloud cannot be reached');
  });

  it('restart - kill -9 right after a pod was answered: the review is on disk', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const token = jwt(Math.floor(Date.now() / 1000) + 3600, 'confirmed-in-the-child');
    const child = spawnFixture(cleanup, 'confirm-token.ts', [file, token]);
    await waitFor(() => child.stdout().includes('\n') || child.exited(), 'the child to answer the pod', { timeoutMs: 30_000, onTimeout: () => child.stderr() });
    expect(child.stdout(), child.stderr()).toBe('answered\n');
    expect(await child.kill()).toBe('SIGKILL');

    const cloud = new CountingCloud();
    cloud.connected = false;
    const { access } = edgecoreLife(file, cloud, Date.now);
    expect(await access.authenticate(token)).toEqual({ ok: true, user: reader, token, offline: true });
  });
});
