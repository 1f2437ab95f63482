// TLS pieces @matrixai/quic leaves to the caller: retry-token crypto, and the dialer's check of the
// hub certificate (quiche checks names as DNS names only, so a hub reached by IP would always fail).
import { X509Certificate, createHmac, randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

/** TLS alert codes as QUIC carries them (0x100 + alert), from RFC 8446 section 6 */
export const TlsAlert = {
  BadCertificate: 0x100 + 42,
  CertificateExpired: 0x100 + 45,
  UnknownCa: 0x100 + 48,
  AccessDenied: 0x100 + 49,
  CertificateRequired: 0x100 + 116,
} as const;

const ALERT_NAMES: Record<number, string> = {
  [TlsAlert.BadCertificate]: 'bad_certificate',
  [TlsAlert.CertificateExpired]: 'certificate_expired',
  [TlsAlert.UnknownCa]: 'unknown_ca: certificate not issued by the trusted CA',
  [TlsAlert.AccessDenied]: 'access_denied',
  [TlsAlert.CertificateRequired]: 'certificate_required: no client certificate presented',
  [0x100 + 40]: 'handshake_failure',
  [0x100 + 43]: 'unsupported_certificate',
  [0x100 + 46]: 'certificate_unknown',
  [0x100 + 120]: 'no_application_protocol',
};

/** "TLS alert unknown_ca ..." for a QUIC CRYPTO_ERROR code, undefined for other codes */
export function describeTlsAlert(code: number): string | undefined {
  if (code < 0x100 || code > 0x1ff) return undefined;
  return `TLS alert ${ALERT_NAMES[code] ?? String(code - 0x100)}`;
}

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Server-side crypto for QUIC retry tokens: HMAC-SHA256 under a key that lives as long as the listener. */
export function retryTokenCrypto(): {
  key: ArrayBuffer;
  ops: {
    sign(key: ArrayBuffer, data: ArrayBuffer): Promise<ArrayBuffer>;
    verify(key: ArrayBuffer, data: ArrayBuffer, signature: ArrayBuffer): Promise<boolean>;
  };
} {
  const mac = (key: ArrayBuffer, data: ArrayBuffer): Buffer =>
    createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
  return {
    key: arrayBufferOf(randomBytes(32)),
    ops: {
      sign: async (key, data) => arrayBufferOf(mac(key, data)),
      verify: async (key, data, signature) => {
        const expected = mac(key, data);
        const given = Buffer.from(signature);
        return expected.length === given.length && timingSafeEqual(expected, given);
      },
    },
  };
}

/** Client-side crypto: QUIC connection ids must be unpredictable. */
export const connectionIdCrypto = {
  ops: {
    randomBytes: async (data: ArrayBuffer): Promise<void> => {
      webcrypto.getRandomValues(new Uint8Array(data));
    },
  },
};

/** Every certificate of a PEM bundle. */
export function certificatesOfPem(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const MAX_CHAIN_DEPTH = 8;

export interface ServerCertificateProblem {
  alert: number;
  problem: string;
}

function isCurrent(certificate: X509Certificate, now: Date): boolean {
  return new Date(certificate.validFrom) <= now && now <= new Date(certificate.validTo);
}

function issued(child: X509Certificate, issuer: X509Certificate): boolean {
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

/**
 * Checks the hub's certificate chain (DER, leaf first) like a TLS client would: signatures up to a
 * trusted CA, validity dates, CA flags on issuers, serverAuth usage, and that the leaf names `host`
 * (IP SAN for an IP, DNS name otherwise). Returns undefined when all is well.
 */
export function checkServerCertificate(
  chain: readonly Uint8Array[],
  trusted: readonly X509Certificate[],
  host: string,
  now = new Date(),
): ServerCertificateProblem | undefined {
  const [leafDer, ...rest] = chain;
  if (leafDer === undefined) return { alert: TlsAlert.CertificateRequired, problem: 'the hub sent no certificate' };
  const leaf = new X509Certificate(leafDer);
  const intermediates = rest.map((der) => new X509Certificate(der));
  let current = leaf;
  for (let depth = 0; ; depth += 1) {
    if (!isCurrent(current, now)) {
      return { alert: TlsAlert.CertificateExpired, problem: `certificate ${current.subject} is not valid now (${current.validFrom} to ${current.validTo})` };
    }
    const anchor = trusted.find((ca) => issued(current, ca));
    if (anchor !== undefined) {
      if (!anchor.ca || !isCurrent(anchor, now)) {
        return { alert: TlsAlert.BadCertificate, problem: `trusted certificate ${anchor.subject} is not a current CA` };
      }
      break;
    }
    const next = intermediates.find((candidate) => candidate.ca && issued(current, candidate));
    if (next === undefined || depth >= MAX_CHAIN_DEPTH) {
      return { alert: TlsAlert.UnknownCa, problem: `certificate ${current.subject} was not issued by the trusted CA` };
    }
    current = next;
  }
  const usages = leaf.keyUsage as string[] | undefined;
  if (usages !== undefined && !usages.includes(SERVER_AUTH) && !usages.includes(ANY_EXTENDED_KEY_USAGE)) {
    return { alert: TlsAlert.BadCertificate, problem: 'the hub certificate is not for serverAuth' };
  }
  const bareHost = host.replace(/^\[|\]$/g, '');
  const named = isIP(bareHost) !== 0 ? leaf.checkIP(bareHost) : leaf.checkHost(bareHost);
  if (named === undefined) {
    return { alert: TlsAlert.BadCertificate, problem: `the hub certificate is not valid for ${JSON.stringify(bareHost)}` };
  }
  return undefined;
}
