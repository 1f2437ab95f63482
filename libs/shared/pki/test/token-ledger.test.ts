import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  CertificateStoreError,
  FileCertificateStore,
  JOIN_TOKENS_FILE,
  JoinTokenError,
  JoinTokenLedger,
  createCertificateAuthority,
  createJoinToken,
  parseJoinToken,
  type CertificateAuthority,
  type JoinTokenClaims,
} from '../src/index';

let dir: string;
let ca: CertificateAuthority;
const KEY_A = 'a'.repeat(64);
const KEY_B = 'b'.repeat(64);

beforeAll(async () => {
  ca = await createCertificateAuthority();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-ledger-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function created(ledger: JoinTokenLedger, binding: { nodeName: string } | { nodePattern: string; count: number }, ttlSeconds = 3600): Promise<JoinTokenClaims> {
  const { token } = await createJoinToken(ca, ledger, { ttlSeconds, ...binding });
  return parseJoinToken(token).claims;
}

async function refusal(promise: Promise<unknown>): Promise<JoinTokenError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(JoinTokenError);
  return error as JoinTokenError;
}

describe('join token ledger', () => {
  test('token ledger - a node token joins its node once; the same key may retry, another key is refused', async () => {
    const ledger = new JoinTokenLedger(dir);
    const claims = await created(ledger, { nodeName: 'edge-a' });
    expect(await ledger.claim(claims, 'edge-a', { publicKeySha256: KEY_A, nodeExists: false })).toBe('first-use');
    // the join was interrupted after the certificate was issued; meanwhile the node registered
    expect(await ledger.claim(claims, 'edge-a', { publicKeySha256: KEY_A, nodeExists: true })).toBe('retry');
    const stolen = await refusal(ledger.claim(claims, 'edge-a', { publicKeySha256: KEY_B, nodeExists: false }));
    expect(stolen.code).toBe('TOKEN_ALREADY_USED');
    expect(stolen.message).toContain('kubectl delete node edge-a');
    expect((await refusal(ledger.claim(claims, 'edge-b', { publicKeySha256: KEY_B, nodeExists: false }))).code).toBe('WRONG_NODE');
  });

  test('token ledger - a pattern token joins up to count different matching names, each once', async () => {
    const ledger = new JoinTokenLedger(dir);
    const claims = await created(ledger, { nodePattern: 'shop-*', count: 2 });
    await ledger.claim(claims, 'shop-1', { publicKeySha256: KEY_A, nodeExists: false });
    await ledger.claim(claims, 'shop-2', { publicKeySha256: KEY_B, nodeExists: false });
    const third = await refusal(ledger.claim(claims, 'shop-3', { publicKeySha256: KEY_A, nodeExists: false }));
    expect(third.code).toBe('TOKEN_ALREADY_USED');
    expect(third.message).toContain('shop-1, shop-2');
    expect((await ledger.recordOf(claims.jti))?.uses.map((use) => use.nodeName)).toEqual(['shop-1', 'shop-2']);
  });

  test('token ledger - an existing node that did not join with the token is refused', async () => {
    const ledger = new JoinTokenLedger(dir);
    const claims = await created(ledger, { nodePattern: 'gw-*', count: 5 });
    const error = await refusal(ledger.claim(claims, 'gw-live', { publicKeySha256: KEY_A, nodeExists: true }));
    expect(error.code).toBe('NODE_EXISTS');
    expect((await ledger.recordOf(claims.jti))?.uses).toEqual([]); // a refusal uses nothing
  });

  test('token ledger - a deleted or never registered token is unknown', async () => {
    const ledger = new JoinTokenLedger(dir);
    const claims = await created(ledger, { nodeName: 'edge-a' });
    expect(await ledger.delete(claims.jti)).toBe(true);
    expect(await ledger.delete(claims.jti)).toBe(false);
    expect((await refusal(ledger.claim(claims, 'edge-a', { publicKeySha256: KEY_A, nodeExists: false }))).code).toBe('UNKNOWN_TOKEN');
    await expect(ledger.delete('../../etc/passwd')).rejects.toThrow(RangeError);
  });

  test('token ledger - tokens and uses survive a restart; the file is 0600 and holds no token secret', async () => {
    const { token } = await createJoinToken(ca, new JoinTokenLedger(dir), { ttlSeconds: 600, nodeName: 'edge-a' });
    const claims = parseJoinToken(token).claims;
    await new JoinTokenLedger(dir).claim(claims, 'edge-a', { publicKeySha256: KEY_A, nodeExists: false });
    const restarted = new JoinTokenLedger(new FileCertificateStore(dir));
    expect(await restarted.list()).toMatchObject([{ id: claims.jti, node: 'edge-a', count: 1, uses: [{ nodeName: 'edge-a', publicKeySha256: KEY_A }] }]);
    const file = await readFile(join(dir, JOIN_TOKENS_FILE), 'utf8');
    expect(file).not.toContain(token.split('.')[2]);
    expect((await stat(join(dir, JOIN_TOKENS_FILE))).mode & 0o777).toBe(0o600);
  });

  test('token ledger - 50 claims of a one-name token through two file stores on one directory: exactly one wins', async () => {
    const ledgers = [new JoinTokenLedger(new FileCertificateStore(dir)), new JoinTokenLedger(new FileCertificateStore(dir))];
    const earlier = await created(ledgers[0]!, { nodeName: 'edge-earlier' });
    await ledgers[0]!.claim(earlier, 'edge-earlier', { publicKeySha256: KEY_A, nodeExists: false });
    const contested = await created(ledgers[1]!, { nodePattern: 'edge-*', count: 1 });
    const nodes = Array.from({ length: 50 }, (_, i) => `edge-${i}`);
    const results = await Promise.allSettled(
      nodes.map((node, i) => ledgers[i % 2]!.claim(contested, node, { publicKeySha256: KEY_B, nodeExists: false })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'TOKEN_ALREADY_USED' });
    // and a token created meanwhile by "kedgeadm" (a third store) is not lost either
    const [late] = await Promise.all([
      created(new JoinTokenLedger(new FileCertificateStore(dir)), { nodeName: 'edge-late' }),
      ledgers[0]!.claim(earlier, 'edge-earlier', { publicKeySha256: KEY_A, nodeExists: true }),
    ]);
    expect((await ledgers[0]!.list()).map((record) => record.id).sort()).toEqual([earlier.jti, contested.jti, late.jti].sort());
  });

  test('token ledger - records of expired tokens are dropped on the next write', async () => {
    const ledger = new JoinTokenLedger(dir);
    const old = await created(ledger, { nodeName: 'edge-a' }, 1);
    await ledger.register({ ...old, jti: 'fresh-token-id-000001', exp: old.exp + 3600 }, { now: new Date((old.exp + 1) * 1000) });
    expect((await ledger.list()).map((record) => record.id)).toEqual(['fresh-token-id-000001']);
  });

  test('token ledger - a damaged ledger stops claims instead of forgetting past uses', async () => {
    await writeFile(join(dir, JOIN_TOKENS_FILE), '{"version":2,"tokens":');
    const ledger = new JoinTokenLedger(dir);
    const claims = parseJoinToken((await createJoinToken(ca, new JoinTokenLedger(await mkdtemp(join(tmpdir(), 'kedge-other-'))), { ttlSeconds: 60, nodeName: 'edge-a' })).token).claims;
    const error = await ledger.claim(claims, 'edge-a', { publicKeySha256: KEY_A, nodeExists: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect(error).toMatchObject({ code: 'CORRUPT_FILE' });
  });

  test('token ledger - refuses old unbound tokens and token ids that are not plain identifiers', async () => {
    const ledger = new JoinTokenLedger(dir);
    await expect(ledger.register({ v: 1, jti: 'legacy-token-id-00001', iat: 1, exp: 2 })).rejects.toThrow(/bound/);
    await expect(ledger.claim({ v: 2, jti: '__proto__!', iat: 1, exp: 2, node: 'edge-a', count: 1 }, 'edge-a', { publicKeySha256: KEY_A, nodeExists: false })).rejects.toThrow(RangeError);
  });
});
