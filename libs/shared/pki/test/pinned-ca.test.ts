// pinCaCertificate: the one trust decision of a join, on real certificates and random bodies.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  CaPinningError,
  caCertificateHash,
  createCertificateAuthority,
  issueServerCertificate,
  pinCaCertificate,
  type CaPinningErrorCode,
  type CertificateAuthority,
} from '../src/index';
import { decodePem, encodePem, generateNodeKeyPair, ECDSA_SHA256 } from '../src/pem';
import type * as X509 from '@peculiar/x509';
import { loadX509 } from '../src/x509';

const x509 = await loadX509();

const SOURCE = 'https://10.0.0.5:10002/ca.crt';
let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
let pin: string;

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createCertificateAuthority(), createCertificateAuthority()]);
  pin = caCertificateHash(ca.certPem);
});

async function refusal(run: () => Promise<unknown>): Promise<CaPinningError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CaPinningError);
    return error as CaPinningError;
  }
  throw new Error('expected a CaPinningError, but the body was accepted');
}

const base64Of = (pem: string): string => decodePem(pem, 'CERTIFICATE', 'test').toString('base64');
/** the same DER under another PEM label, as OpenSSL would still load it */
const relabel = (pem: string, label: string): string => pem.replaceAll('-----BEGIN CERTIFICATE-----', `-----BEGIN ${label}-----`).replaceAll('-----END CERTIFICATE-----', `-----END ${label}-----`);
const hashOf = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

async function selfSigned(extensions: X509.Extension[]): Promise<string> {
  const keys = await generateNodeKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: [{ CN: ['not-quite-a-ca'] }],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return cert.toString('pem');
}

describe('pinning the CA at join', () => {
  test('pinned CA - the real CA is accepted and returned re-encoded from its DER, with its hash', async () => {
    const pinned = await pinCaCertificate(ca.certPem, pin, SOURCE);
    expect(pinned.sha256).toBe(pin);
    expect(base64Of(pinned.caPem)).toBe(base64Of(ca.certPem));
    expect(pinned.caPem).toBe(encodePem('CERTIFICATE', decodePem(ca.certPem, 'CERTIFICATE', 'test')));
    expect((await pinCaCertificate(Buffer.from(ca.certPem), pin.toUpperCase(), SOURCE)).caPem).toBe(pinned.caPem);
  });

  test('pinned CA - CRLF line ends and whitespace around the block are accepted, and stored as one canonical PEM', async () => {
    const crlf = `\r\n  ${ca.certPem.trim().replaceAll('\n', '\r\n')}\r\n\r\n\t`;
    expect((await pinCaCertificate(crlf, pin, SOURCE)).caPem).toBe((await pinCaCertificate(ca.certPem, pin, SOURCE)).caPem);
  });

  test.each(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE'])(
    'attack - the real CA with a second %s block, before or after it, is refused',
    async (label) => {
      const extra = relabel(otherCa.certPem, label);
      for (const body of [`${ca.certPem}${extra}`, `${extra}${ca.certPem}`, `${ca.certPem}\n${relabel(ca.certPem, label)}`]) {
        const error = await refusal(() => pinCaCertificate(body, pin, SOURCE));
        expect(error.code).toBe('NOT_ONE_CERTIFICATE');
        expect(error.message).toContain(`exactly one PEM "CERTIFICATE" block`);
        expect(error.message).toContain(JSON.stringify(label));
      }
    },
  );

  test('attack - the right DER under a TRUSTED or X509 CERTIFICATE label is refused', async () => {
    for (const label of ['TRUSTED CERTIFICATE', 'X509 CERTIFICATE']) {
      expect((await refusal(() => pinCaCertificate(relabel(ca.certPem, label), pin, SOURCE))).code).toBe('NOT_ONE_CERTIFICATE');
    }
  });

  test('attack - text after the certificate, or a private key beside it, is refused', async () => {
    const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.alloc(48, 1).toString('base64')}\n-----END PRIVATE KEY-----\n`;
    for (const body of [`${ca.certPem}garbage`, `${ca.certPem}${key}`, `# comment\n${ca.certPem}`, `${ca.certPem}\0`]) {
      expect((await refusal(() => pinCaCertificate(body, pin, SOURCE))).code).toBe('NOT_ONE_CERTIFICATE');
    }
  });

  test('attack - non-canonical base64 (spare bits, padding inside) is refused', async () => {
    const b64 = base64Of(ca.certPem);
    const inner = `${b64.slice(0, 64)}==\n${b64.slice(64)}`;
    expect((await refusal(() => pinCaCertificate(`-----BEGIN CERTIFICATE-----\n${inner}\n-----END CERTIFICATE-----\n`, pin, SOURCE))).code).toBe('NOT_ONE_CERTIFICATE');
  });

  test('attack - a CA certificate with bytes after its DER is refused even when the token pins those bytes', async () => {
    const der = Buffer.concat([decodePem(ca.certPem, 'CERTIFICATE', 'test'), Buffer.from([0x05, 0x00])]);
    expect((await refusal(() => pinCaCertificate(encodePem('CERTIFICATE', der), hashOf(der), SOURCE))).code).toBe('UNREADABLE_CERTIFICATE');
  });

  test('attack - another CA than the pinned one is refused with both hashes', async () => {
    const error = await refusal(() => pinCaCertificate(otherCa.certPem, pin, SOURCE));
    expect(error).toMatchObject({ code: 'HASH_MISMATCH', expectedHash: pin, actualHash: caCertificateHash(otherCa.certPem) });
    expect(error.message).toMatch(/has sha256 [0-9a-f]{64}, but the join token pins [0-9a-f]{64}.*the token was not sent/);
  });

  test('attack - a leaf certificate with the pinned hash is refused as not a CA', async () => {
    const leaf = await issueServerCertificate(ca, { commonName: 'cloudcore', ipAddresses: ['10.0.0.5'] });
    const error = await refusal(() => pinCaCertificate(leaf.certPem, caCertificateHash(leaf.certPem), SOURCE));
    expect(error.code).toBe('NOT_A_CA');
    expect(error.message).toContain('basicConstraints cA=true');
  });

  test('attack - a CA without keyCertSign, or keyCertSign without cA, is refused as not a CA', async () => {
    const cases: [X509.Extension[], string][] = [
      [[new x509.BasicConstraintsExtension(true, 0, true)], 'keyUsage keyCertSign'],
      [[new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)], 'keyUsage keyCertSign'],
      [[new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)], 'basicConstraints cA=true'],
    ];
    for (const [extensions, lacking] of cases) {
      const pem = await selfSigned(extensions);
      const error = await refusal(() => pinCaCertificate(pem, caCertificateHash(pem), SOURCE));
      expect(error.code).toBe('NOT_A_CA');
      expect(error.message).toContain(lacking);
    }
  });

  test('pinned CA - an oversized body is refused before it is parsed', async () => {
    const huge = `${ca.certPem}${' '.repeat(70 * 1024)}`;
    expect((await refusal(() => pinCaCertificate(huge, pin, SOURCE))).message).toMatch(/more than the 65536/);
  });
});

describe('pinning the CA at join - random bodies', () => {
  const codes: CaPinningErrorCode[] = ['NOT_ONE_CERTIFICATE', 'UNREADABLE_CERTIFICATE', 'HASH_MISMATCH', 'NOT_A_CA'];
  const labels = fc.constantFrom('CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE', 'PRIVATE KEY', 'PKCS7', 'X509 CRL');

  test('pinned CA - any body is either the pinned CA (then stored canonically) or refused with a CaPinningError', async () => {
    const canonical = (await pinCaCertificate(ca.certPem, pin, SOURCE)).caPem;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String(), fc.constant(ca.certPem)), async (body) => {
        try {
          const pinned = await pinCaCertificate(body, pin, SOURCE);
          expect(pinned.caPem).toBe(canonical);
        } catch (error) {
          expect(error).toBeInstanceOf(CaPinningError);
          expect(codes).toContain((error as CaPinningError).code);
        }
      }),
    );
  });

  test('attack - the real CA with anything but whitespace before or after it is refused', async () => {
    const notOnlyWhitespace = fc.string({ minLength: 1 }).filter((text) => text.trim() !== '');
    await fc.assert(
      fc.asyncProperty(fc.string(), notOnlyWhitespace, fc.boolean(), async (other, extra, before) => {
        const body = before ? `${extra}${other}${ca.certPem}` : `${ca.certPem}${other}${extra}`;
        await expect(pinCaCertificate(body, pin, SOURCE)).rejects.toThrow(CaPinningError);
      }),
    );
  });

  test('attack - the real CA with another PEM block of any label anywhere around it is refused', async () => {
    await fc.assert(
      fc.asyncProperty(labels, fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.constantFrom('', '\n', '\r\n', '\n\n'), fc.boolean(), async (label, bytes, gap, before) => {
        const block = encodePem('CERTIFICATE', bytes).replaceAll('CERTIFICATE-----', `${label}-----`);
        const body = before ? `${block}${gap}${ca.certPem}` : `${ca.certPem}${gap}${block}`;
        expect((await refusal(() => pinCaCertificate(body, pin, SOURCE))).code).toBe('NOT_ONE_CERTIFICATE');
      }),
    );
  });
});
