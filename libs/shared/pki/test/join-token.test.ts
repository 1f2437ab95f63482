import { createHmac, createPrivateKey, hkdfSync } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  JoinTokenError,
  MAX_TOKEN_COUNT,
  caCertificateHash,
  nodeNameMatchesPattern,
  createCertificateAuthority,
  issueJoinToken,
  parseJoinToken,
  verifyJoinToken,
  type CertificateAuthority,
} from '../src/index';

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
const issuedAt = new Date('2026-11-25T09:00:00Z');

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createCertificateAuthority(), createCertificateAuthority()]);
});

function refusal(run: () => unknown): JoinTokenError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(JoinTokenError);
    return error as JoinTokenError;
  }
  throw new Error('expected a JoinTokenError, but the token was accepted');
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('join tokens', () => {
  test('join token - a fresh token verifies and carries the CA hash, a random jti and the expiry', () => {
    const token = issueJoinToken(ca, { ttlSeconds: 3600, nodeName: 'edge-1', now: issuedAt });
    const parsed = parseJoinToken(token);
    expect(parsed.caHash).toBe(caCertificateHash(ca.certPem));
    expect(parsed.claims).toMatchObject({ v: 2, iat: issuedAt.getTime() / 1000, exp: issuedAt.getTime() / 1000 + 3600, node: 'edge-1', count: 1 });
    const claims = verifyJoinToken(ca, token, { nodeName: 'edge-1', now: new Date(issuedAt.getTime() + 60_000) });
    expect(claims).toEqual(parsed.claims);
    const again = parseJoinToken(issueJoinToken(ca, { ttlSeconds: 3600, nodeName: 'edge-1', now: issuedAt }));
    expect(again.claims.jti).not.toBe(parsed.claims.jti);
  });

  test('join token - is refused as EXPIRED from its exp on, with the time and what to do in the message', () => {
    const token = issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    expect(() => verifyJoinToken(ca, token, { nodeName: 'edge-1', now: new Date(issuedAt.getTime() + 59_000) })).not.toThrow();
    const error = refusal(() => verifyJoinToken(ca, token, { nodeName: 'edge-1', now: new Date(issuedAt.getTime() + 60_000) }));
    expect(error.code).toBe('EXPIRED');
    expect(error.message).toContain('2026-11-25T09:01:00.000Z');
    expect(error.message).toContain('kedgeadm token create');
  });

  test('join token - changed claims are refused as BAD_SIGNATURE', () => {
    const token = issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    const [hash, , mac] = token.split('.');
    const { claims } = parseJoinToken(token);
    const forgeries = [
      { ...claims, exp: claims.exp + 86_400 },
      { ...claims, node: 'edge-2' },
      { v: 1, jti: claims.jti, iat: claims.iat, exp: claims.exp }, // binding removed
    ];
    for (const forged of forgeries) {
      const error = refusal(() => verifyJoinToken(ca, `${hash}.${encode(forged)}.${mac}`, { nodeName: 'edge-2', now: issuedAt }));
      expect(error.code).toBe('BAD_SIGNATURE');
    }
  });

  test('join token - a changed MAC is refused as BAD_SIGNATURE, a re-spelled one as MALFORMED', () => {
    const token = issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    const [hash, claims, mac = ''] = token.split('.');
    const macBytes = Buffer.from(mac, 'base64url');
    for (const index of [0, 15, 31]) {
      const changed = Buffer.from(macBytes);
      changed[index] = (changed[index] ?? 0) ^ 0x01;
      const error = refusal(() => verifyJoinToken(ca, `${hash}.${claims}.${changed.toString('base64url')}`, { nodeName: 'e', now: issuedAt }));
      expect(error.code).toBe('BAD_SIGNATURE');
    }
    // 32 bytes leave two spare bits in the last character; flipping them must not give a second valid spelling
    const last = mac.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = mac.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 0x01];
    expect(Buffer.from(respelled, 'base64url').equals(macBytes)).toBe(true);
    expect(refusal(() => verifyJoinToken(ca, `${hash}.${claims}.${respelled}`, { nodeName: 'e', now: issuedAt })).code).toBe('MALFORMED');
  });

  test('join token - a token minted with another CA key is refused as BAD_SIGNATURE even with this CA hash', () => {
    const foreign = issueJoinToken(otherCa, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    const [, claims, mac] = foreign.split('.');
    const error = refusal(() => verifyJoinToken(ca, `${caCertificateHash(ca.certPem)}.${claims}.${mac}`, { nodeName: 'e', now: issuedAt }));
    expect(error.code).toBe('BAD_SIGNATURE');
  });

  test('join token - a token of another CA is refused as WRONG_CA naming both hashes', () => {
    const token = issueJoinToken(otherCa, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    const error = refusal(() => verifyJoinToken(ca, token, { nodeName: 'edge-1', now: issuedAt }));
    expect(error.code).toBe('WRONG_CA');
    expect(error.message).toContain(caCertificateHash(otherCa.certPem).slice(0, 16));
    expect(error.message).toContain(caCertificateHash(ca.certPem).slice(0, 16));
  });

  test('join token - a token bound to one node is refused for another as WRONG_NODE', () => {
    const token = issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    expect(parseJoinToken(token).claims.node).toBe('edge-1');
    expect(verifyJoinToken(ca, token, { nodeName: 'edge-1', now: issuedAt }).node).toBe('edge-1');
    const error = refusal(() => verifyJoinToken(ca, token, { nodeName: 'edge-2', now: issuedAt }));
    expect(error.code).toBe('WRONG_NODE');
    expect(error.message).toContain('"edge-1"');
  });

  test('join token - structurally wrong tokens are MALFORMED', () => {
    const good = issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    const [hash, , mac] = good.split('.');
    const cases = [
      '',
      'abc',
      `${hash}.${mac}`,
      `${good}.extra`,
      `${hash?.toUpperCase()}.${good.split('.')[1]}.${mac}`,
      `${hash}.${encode({ v: 2, jti: 'aaaaaaaaaaaaaaaaaaaa', iat: 1, exp: 2 })}.${mac}`,
      `${hash}.${encode([1, 2])}.${mac}`,
      `${hash}.${Buffer.from('{not json').toString('base64url')}.${mac}`,
      `${hash}.${encode({ v: 1, jti: 'aaaaaaaaaaaaaaaaaaaa', iat: '1', exp: 2 })}.${mac}`,
      `${hash}.${encode({ v: 1, jti: 'aaaaaaaaaaaaaaaaaaaa', iat: 1, exp: 2, node: 'Not A Node' })}.${mac}`,
      'x'.repeat(5000),
    ];
    for (const token of cases) expect(refusal(() => parseJoinToken(token)).code).toBe('MALFORMED');
    expect(refusal(() => parseJoinToken(42 as unknown as string)).code).toBe('MALFORMED');
  });

  test('join token - arbitrary strings and mutations never raise anything but JoinTokenError', () => {
    const good = issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'edge-1', now: issuedAt });
    const tokenLike = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.array(fc.string({ maxLength: 90 }), { maxLength: 5 }).map((parts) => parts.join('.')),
      fc.tuple(fc.nat({ max: good.length - 1 }), fc.string({ minLength: 1, maxLength: 3 })).map(
        ([at, text]) => good.slice(0, at) + text + good.slice(at + 1),
      ),
    );
    fc.assert(
      fc.property(tokenLike, (token) => {
        fc.pre(token.trim() !== good); // surrounding whitespace from copy-paste is forgiven
        try {
          verifyJoinToken(ca, token, { nodeName: 'edge-1', now: issuedAt });
        } catch (error) {
          return error instanceof JoinTokenError && error.code !== 'EXPIRED' && error.code !== 'WRONG_NODE';
        }
        return false; // any other string is accepted as a token: that is a forgery
      }),
      { numRuns: 2000 },
    );
  });

  test('join token - refuses to issue with a non-positive ttl, an invalid node name, or no binding at all', () => {
    expect(() => issueJoinToken(ca, { ttlSeconds: 0, nodeName: 'edge-1' })).toThrow(RangeError);
    expect(() => issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'Bad Name' })).toThrow(/not valid/);
    expect(() => issueJoinToken(ca, { ttlSeconds: 60 })).toThrow(/must be bound/);
    expect(() => issueJoinToken(ca, { ttlSeconds: 60, nodeName: 'a', nodePattern: 'a-*', count: 2 })).toThrow(/not both/);
    for (const nodePattern of ['*', '**', 'Shop-*', 'shop_*', '-*', 'shop-*-']) {
      expect(() => issueJoinToken(ca, { ttlSeconds: 60, nodePattern, count: 2 }), nodePattern).toThrow(/not valid/);
    }
    for (const count of [undefined, 0, -1, 1.5, MAX_TOKEN_COUNT + 1]) {
      expect(() => issueJoinToken(ca, { ttlSeconds: 60, nodePattern: 'shop-*', ...(count === undefined ? {} : { count }) })).toThrow(/count/);
    }
  });

  test('join token - a pattern token admits matching names only; "*" never spans a dot', () => {
    const token = issueJoinToken(ca, { ttlSeconds: 60, nodePattern: 'shop-*', count: 20, now: issuedAt });
    expect(verifyJoinToken(ca, token, { nodeName: 'shop-17', now: issuedAt })).toMatchObject({ v: 2, pattern: 'shop-*', count: 20 });
    for (const nodeName of ['shop', 'shop-1.evil', 'office-1', 'xshop-1']) {
      expect(refusal(() => verifyJoinToken(ca, token, { nodeName, now: issuedAt })).code, nodeName).toBe('WRONG_NODE');
    }
    expect(nodeNameMatchesPattern('line-3.plant-7', 'line-*.plant-7')).toBe(true);
    expect(nodeNameMatchesPattern('line-3.plant-8', 'line-*.plant-7')).toBe(false);
  });

  test('join token - a valid token of the old unbound format (v1) is refused as LEGACY_TOKEN with the command to run', () => {
    const caHash = caCertificateHash(ca.certPem);
    const signed = `${caHash}.${encode({ v: 1, jti: 'legacy-token-id-0001', iat: 1, exp: 9_999_999_999 })}`;
    const jwk = createPrivateKey(ca.keyPem).export({ format: 'jwk' });
    const key = Buffer.from(hkdfSync('sha256', Buffer.from(String(jwk.d), 'base64url'), Buffer.from(caHash, 'hex'), 'kedge join token v1', 32));
    const legacy = `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`;
    expect(parseJoinToken(legacy).claims).toMatchObject({ v: 1, jti: 'legacy-token-id-0001' });
    const error = refusal(() => verifyJoinToken(ca, legacy, { nodeName: 'edge-1', now: issuedAt }));
    expect(error.code).toBe('LEGACY_TOKEN');
    expect(error.message).toContain('kedgeadm token create --node');
  });
});
