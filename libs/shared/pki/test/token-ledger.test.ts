import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CertificateStoreError, FileCertificateStore, JoinTokenError, TokenUseLedger } from '../src/index';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-ledger-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('token use ledger', () => {
  test('token ledger - the first node binds the token, the same node may retry, another node is refused', async () => {
    const ledger = new TokenUseLedger(dir);
    await ledger.claim('jti-aaaaaaaaaaaaaaaa', 'edge-a');
    await ledger.claim('jti-aaaaaaaaaaaaaaaa', 'edge-a');
    const error = await ledger.claim('jti-aaaaaaaaaaaaaaaa', 'edge-b').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JoinTokenError);
    expect(error).toMatchObject({ code: 'REUSED_FOR_ANOTHER_NODE' });
    expect((error as Error).message).toContain('"edge-a"');
    await ledger.claim('jti-bbbbbbbbbbbbbbbb', 'edge-b');
  });

  test('token ledger - uses survive a restart (a fresh instance over the same directory)', async () => {
    await new TokenUseLedger(dir).claim('jti-aaaaaaaaaaaaaaaa', 'edge-a');
    const restarted = new TokenUseLedger(new FileCertificateStore(dir));
    expect(await restarted.useOf('jti-aaaaaaaaaaaaaaaa')).toMatchObject({ nodeName: 'edge-a' });
    await expect(restarted.claim('jti-aaaaaaaaaaaaaaaa', 'edge-b')).rejects.toMatchObject({ code: 'REUSED_FOR_ANOTHER_NODE' });
    const file = JSON.parse(await readFile(join(dir, 'token-uses.json'), 'utf8')) as unknown;
    expect(file).toMatchObject({ version: 1, uses: { 'jti-aaaaaaaaaaaaaaaa': { nodeName: 'edge-a' } } });
  });

  test('token ledger - two nodes racing with one token: exactly one wins', async () => {
    const ledger = new TokenUseLedger(dir);
    const results = await Promise.allSettled(
      ['edge-a', 'edge-b', 'edge-c', 'edge-d'].map((node) => ledger.claim('jti-racyracyracyracy', node)),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });

  test('token ledger - records of expired tokens are dropped on the next write', async () => {
    const ledger = new TokenUseLedger(dir);
    const now = new Date('2026-11-25T10:00:00Z');
    await ledger.claim('jti-oldoldoldoldoldo', 'edge-a', { expiresAt: new Date('2026-11-25T11:00:00Z'), now });
    await ledger.claim('jti-newnewnewnewnewn', 'edge-b', { expiresAt: new Date('2026-11-26T11:00:00Z'), now: new Date('2026-11-25T12:00:00Z') });
    expect(await ledger.useOf('jti-oldoldoldoldoldo')).toBeUndefined();
    expect(await ledger.useOf('jti-newnewnewnewnewn')).toMatchObject({ nodeName: 'edge-b', expiresAt: '2026-11-26T11:00:00.000Z' });
  });

  test('token ledger - a damaged ledger stops claims instead of forgetting past uses', async () => {
    await writeFile(join(dir, 'token-uses.json'), '{"version":1,"uses":');
    const error = await new TokenUseLedger(dir).claim('jti-aaaaaaaaaaaaaaaa', 'edge-a').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect(error).toMatchObject({ code: 'CORRUPT_FILE' });
  });

  test('token ledger - refuses token ids that are not plain identifiers', async () => {
    await expect(new TokenUseLedger(dir).claim('__proto__!', 'edge-a')).rejects.toThrow(RangeError);
  });
});
