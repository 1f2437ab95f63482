// PodAccess's caches, with a clock the test moves: a confirmed token is reused until its exp (never
// after), a refused one is asked again only after the negative TTL, offline a confirmed token and the
// remembered decisions stand, and an unknown token or undecided read is refused naming the cloud.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PodAccess } from '../src/index';
import { Cleanup, openStore, tempDir } from './fixtures';
import { CountingCloud, jwt, listPods, reader } from './pod-api-fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const reviews = () => openStore(cleanup, join(tempDir(cleanup), 'edgecore.db')).podReviews;

const user = reader;

describe('pod access - caches', () => {
  it('a confirmed token is reused until its exp and refused after; a refused one is asked again only after the negative TTL', async () => {
    let now = 1_000_000_000_000;
    const cloud = new CountingCloud();
    const access = new PodAccess({ cloud, reviews: reviews(), now: () => now, negativeTtlMs: 10_000 });
    const good = jwt(now / 1000 + 600);
    cloud.valid.add(good);
    expect(await access.authenticate(good)).toMatchObject({ ok: true, user });
    expect(await access.authenticate(good)).toMatchObject({ ok: true });
    expect(cloud.reviews).toBe(1);
    now += 601_000;
    expect(await access.authenticate(good)).toMatchObject({ ok: false, reason: 'bad_token', message: expect.stringContaining('expired') });

    const bad = jwt(now / 1000 + 600);
    expect(await access.authenticate(bad)).toMatchObject({ ok: false, reason: 'bad_token' });
    expect(await access.authenticate(bad)).toMatchObject({ ok: false });
    expect(cloud.reviews).toBe(2);
    now += 10_001;
    cloud.valid.add(bad);
    expect(await access.authenticate(bad)).toMatchObject({ ok: true });

    const foreign = jwt(now / 1000 + 600);
    cloud.refusedByCloud.add(foreign);
    expect(await access.authenticate(foreign)).toMatchObject({ ok: false, reason: 'bad_token', message: expect.stringContaining('pod-not-bound') });
  });

  it('offline: confirmed tokens and remembered decisions stand; unknown tokens and undecided reads name the cloud', async () => {
    let now = 1_000_000_000_000;
    const cloud = new CountingCloud();
    const access = new PodAccess({ cloud, reviews: reviews(), now: () => now, decisionTtlMs: 60_000 });
    const token = jwt(now / 1000 + 3600);
    cloud.valid.add(token);
    cloud.allowed.add('pods');
    expect(await access.authenticate(token)).toMatchObject({ ok: true });
    expect(await access.authorize(user, token, listPods)).toEqual({ allowed: true });
    expect(await access.authorize(user, token, { ...listPods, resource: 'secrets' })).toMatchObject({ allowed: false, reason: 'forbidden', message: expect.stringContaining('cannot list resource "secrets"') });
    expect(await access.authorize(user, token, listPods)).toEqual({ allowed: true });
    expect(cloud.accessReviews).toBe(2);

    cloud.connected = false;
    now += 30 * 60_000;
    expect(await access.authenticate(token)).toMatchObject({ ok: true, offline: true });
    expect(await access.authorize(user, token, listPods)).toEqual({ allowed: true });
    expect(await access.authorize(user, token, { ...listPods, resource: 'secrets' })).toMatchObject({ allowed: false, reason: 'forbidden' });
    expect(await access.authorize(user, token, { ...listPods, resource: 'services' })).toMatchObject({ allowed: false, reason: 'cloud_unreachable' });
    expect(await access.authenticate(jwt(now / 1000 + 600))).toMatchObject({ ok: false, reason: 'cloud_unreachable', message: expect.stringContaining('cloud cannot be reached') });

    // online again: an old decision is asked anew
    cloud.connected = true;
    cloud.allowed.delete('pods');
    expect(await access.authorize(user, token, listPods)).toMatchObject({ allowed: false, reason: 'forbidden' });
  });
});
