// `kedgeadm token` against a temporary cloudcore data dir with a real CA.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JoinTokenError, loadOrCreateAuthority, parseJoinToken, verifyJoinToken, type CertificateAuthority } from '@kedge/pki';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurationFormatError } from '../src/duration';
import {
  KedgeadmUsageError,
  createTokenCommand,
  deleteTokenCommand,
  formatTokenTable,
  issueTokenCommand,
  listTokensCommand,
} from '../src/token-command';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kedgeadm-test-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function createAuthority(): Promise<CertificateAuthority> {
  return loadOrCreateAuthority(join(dataDir, 'pki'));
}

describe('kedgeadm token', () => {
  it('token - create issues a bound token that verifies against the CA, 1h by default, and registers it', async () => {
    const ca = await createAuthority();
    const before = Math.floor(Date.now() / 1000);
    const { token, record } = await createTokenCommand({ dataDir, node: 'gateway-01' });
    const claims = verifyJoinToken(ca, token, { nodeName: 'gateway-01' });
    expect(claims).toMatchObject({ v: 2, node: 'gateway-01', count: 1 });
    expect(claims.exp - claims.iat).toBe(3_600);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(record).toMatchObject({ id: claims.jti, node: 'gateway-01', count: 1, uses: [] });
    expect(await listTokensCommand({ dataDir })).toEqual([record]);
    // expired after its ttl
    expect(() => verifyJoinToken(ca, token, { nodeName: 'gateway-01', now: new Date((claims.exp + 1) * 1000) })).toThrow(JoinTokenError);
  });

  it('token - --node binds the token to that node; --node-pattern with --count to matching names', async () => {
    const ca = await createAuthority();
    const token = await issueTokenCommand({ dataDir, ttl: '30m', node: 'gateway-01' });
    expect(parseJoinToken(token).claims.node).toBe('gateway-01');
    const wrongNode = (() => {
      try {
        verifyJoinToken(ca, token, { nodeName: 'gateway-02' });
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(wrongNode).toBeInstanceOf(JoinTokenError);
    expect((wrongNode as JoinTokenError).code).toBe('WRONG_NODE');
    const batch = await issueTokenCommand({ dataDir, nodePattern: 'shop-*', count: '20' });
    expect(verifyJoinToken(ca, batch, { nodeName: 'shop-7' })).toMatchObject({ pattern: 'shop-*', count: 20 });
  });

  it('token - an unbound token is refused, as are a pattern without a count and both bindings at once', async () => {
    await createAuthority();
    const refusals = [
      { dataDir },
      { dataDir, nodePattern: 'shop-*' },
      { dataDir, nodePattern: 'shop-*', count: '0' },
      { dataDir, nodePattern: '*', count: '2' },
      { dataDir, node: 'gw-1', nodePattern: 'shop-*', count: '2' },
      { dataDir, node: 'gw-1', count: '5' },
    ];
    for (const options of refusals) {
      const error = await createTokenCommand(options).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(KedgeadmUsageError);
    }
    expect(((await createTokenCommand({ dataDir }).catch((e: unknown) => e)) as Error).message).toMatch(/must be bound: --node <name>.*--node-pattern/);
    expect(await listTokensCommand({ dataDir })).toEqual([]);
  });

  it('token - list shows id, binding, uses left and expiry but never the token; delete removes it', async () => {
    await createAuthority();
    const { token, record } = await createTokenCommand({ dataDir, nodePattern: 'shop-*', count: '3' });
    const table = formatTokenTable(await listTokensCommand({ dataDir }));
    expect(table.split('\n')[0]).toMatch(/^ID +BOUND TO +USES LEFT +EXPIRES +USED BY$/);
    expect(table).toContain(record.id);
    expect(table).toContain('pattern "shop-*"');
    expect(table).toContain('3/3');
    expect(table).not.toContain(token.split('.')[2]);
    await deleteTokenCommand({ dataDir, id: record.id });
    expect(await listTokensCommand({ dataDir })).toEqual([]);
    await expect(deleteTokenCommand({ dataDir, id: record.id })).rejects.toThrow(/no join token/);
    await expect(deleteTokenCommand({ dataDir, id: '../x' })).rejects.toBeInstanceOf(KedgeadmUsageError);
  });

  it('token - a token from one CA does not verify against another', async () => {
    await createAuthority();
    const token = await issueTokenCommand({ dataDir, ttl: '1h', node: 'gateway-01' });
    const otherDir = mkdtempSync(join(tmpdir(), 'kedgeadm-test-other-'));
    try {
      const other = await loadOrCreateAuthority(join(otherDir, 'pki'));
      expect(() => verifyJoinToken(other, token, { nodeName: 'gateway-01' })).toThrow(/another cluster/);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('token - without a CA it says to start cloudcore first and creates nothing', async () => {
    const error = await issueTokenCommand({ dataDir, ttl: '24h', node: 'gateway-01' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KedgeadmUsageError);
    expect((error as Error).message).toContain(`no CA in ${join(dataDir, 'pki')}`);
    expect((error as Error).message).toMatch(/start cloudcore once with --data-dir/);
    expect(existsSync(join(dataDir, 'pki', 'ca.crt'))).toBe(false);
    expect(existsSync(join(dataDir, 'pki', 'ca.key'))).toBe(false);
  });

  it('token - an invalid node name or ttl is refused before anything is issued', async () => {
    await createAuthority();
    for (const node of ['Gateway_01', '-gw', 'gw/1', 'a'.repeat(254)]) {
      const error = await issueTokenCommand({ dataDir, ttl: '1h', node }).catch((e: unknown) => e);
      expect(error, JSON.stringify(node)).toBeInstanceOf(KedgeadmUsageError);
      expect((error as Error).message).toMatch(/^--node ".*": expected a DNS-1123 node name/);
    }
    await expect(issueTokenCommand({ dataDir, ttl: '400d', node: 'gateway-01' })).rejects.toBeInstanceOf(DurationFormatError);
    await expect(issueTokenCommand({ dataDir, ttl: 'soon', node: 'gateway-01' })).rejects.toBeInstanceOf(DurationFormatError);
    expect(await listTokensCommand({ dataDir })).toEqual([]);
  });
});
