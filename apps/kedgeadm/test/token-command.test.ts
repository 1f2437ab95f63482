// `kedgeadm token` against a temporary cloudcore data dir with a real CA.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JoinTokenError, loadOrCreateAuthority, parseJoinToken, verifyJoinToken, type CertificateAuthority } from '@kedge/pki';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurationFormatError } from '../src/duration';
import { KedgeadmUsageError, issueTokenCommand } from '../src/token-command';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'kedgeadm-test-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function createAuthority(): Promise<CertificateAuthority> {
  return loadOrCreateAuthority(join(dataDir, 'pki'));
}

describe('kedgeadm token', () => {
  it('token - issues a token that verifies against the CA in the data dir, for any node when unbound', async () => {
    const ca = await createAuthority();
    const before = Math.floor(Date.now() / 1000);
    const token = await issueTokenCommand({ dataDir, ttl: '2h' });
    const claims = verifyJoinToken(ca, token, { nodeName: 'gateway-01' });
    expect(claims.node).toBeUndefined();
    expect(claims.exp - claims.iat).toBe(7_200);
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    expect(verifyJoinToken(ca, token, { nodeName: 'gateway-02' }).jti).toBe(claims.jti);
    // expired after its ttl
    expect(() => verifyJoinToken(ca, token, { nodeName: 'gateway-01', now: new Date((claims.exp + 1) * 1000) })).toThrow(JoinTokenError);
  });

  it('token - --node binds the token to that node', async () => {
    const ca = await createAuthority();
    const token = await issueTokenCommand({ dataDir, ttl: '30m', node: 'gateway-01' });
    expect(parseJoinToken(token).claims.node).toBe('gateway-01');
    expect(verifyJoinToken(ca, token, { nodeName: 'gateway-01' }).node).toBe('gateway-01');
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
  });

  it('token - a token from one CA does not verify against another', async () => {
    await createAuthority();
    const token = await issueTokenCommand({ dataDir, ttl: '1h' });
    const otherDir = mkdtempSync(join(tmpdir(), 'kedgeadm-test-other-'));
    try {
      const other = await loadOrCreateAuthority(join(otherDir, 'pki'));
      expect(() => verifyJoinToken(other, token, { nodeName: 'gateway-01' })).toThrow(/another cluster/);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('token - without a CA it says to start cloudcore first and creates nothing', async () => {
    const error = await issueTokenCommand({ dataDir, ttl: '24h' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KedgeadmUsageError);
    expect((error as Error).message).toContain(`no CA in ${join(dataDir, 'pki')}`);
    expect((error as Error).message).toMatch(/start cloudcore once with --data-dir/);
    expect(existsSync(join(dataDir, 'pki', 'ca.crt'))).toBe(false);
    expect(existsSync(join(dataDir, 'pki', 'ca.key'))).toBe(false);
  });

  it('token - an invalid node name or ttl is refused before anything is issued', async () => {
    await createAuthority();
    for (const node of ['Gateway_01', '', '-gw', 'gw/1', 'a'.repeat(254)]) {
      const error = await issueTokenCommand({ dataDir, ttl: '1h', node }).catch((e: unknown) => e);
      expect(error, JSON.stringify(node)).toBeInstanceOf(KedgeadmUsageError);
      expect((error as Error).message).toMatch(/^--node ".*": expected a DNS-1123 node name/);
    }
    await expect(issueTokenCommand({ dataDir, ttl: '400d' })).rejects.toBeInstanceOf(DurationFormatError);
    await expect(issueTokenCommand({ dataDir, ttl: 'soon', node: 'gateway-01' })).rejects.toBeInstanceOf(DurationFormatError);
  });
});
