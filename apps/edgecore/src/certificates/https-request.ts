// One HTTPS exchange with the certificate server, through node:https because fetch cannot present a
// client certificate or skip verification for the single unauthenticated CA download.
import { request as httpsRequest } from 'node:https';
import { CertificateServerError } from './errors';

export interface CertificateServerRequest {
  serverUrl: string;
  path: 'ca.crt' | 'edge.crt';
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** undefined only for the CA download, whose content is checked against the token instead */
  trustedCaPem: string | undefined;
  clientCertificate?: { certPem: string; keyPem: string };
  timeoutMs: number;
}

export interface CertificateServerResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

// OpenSSL and node codes for "the server's certificate is not what we trust"
const TRUST_FAILURES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function certificateServerUrl(serverUrl: string, path: string): URL {
  let base: URL;
  try {
    base = new URL(serverUrl.endsWith('/') ? serverUrl : `${serverUrl}/`);
  } catch (cause) {
    throw new CertificateServerError('INVALID_SERVER_URL', `"${serverUrl}" is not a URL; use https://<cloudcore host>:10002`, { cause });
  }
  if (base.protocol !== 'https:') {
    throw new CertificateServerError('INVALID_SERVER_URL', `"${serverUrl}" is not an https URL; use https://<cloudcore host>:10002`);
  }
  return new URL(path, base);
}

export async function exchange(options: CertificateServerRequest): Promise<CertificateServerResponse> {
  const url = certificateServerUrl(options.serverUrl, options.path);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: CertificateServerError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      reject(error);
    };
    const request = httpsRequest(url, {
      method: options.method,
      headers: {
        ...options.headers,
        ...(options.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(options.body)) }),
      },
      agent: false, // no pooled connection may carry other TLS settings or another identity
      rejectUnauthorized: options.trustedCaPem !== undefined,
      ...(options.trustedCaPem === undefined ? {} : { ca: options.trustedCaPem }),
      ...(options.clientCertificate === undefined
        ? {}
        : { cert: options.clientCertificate.certPem, key: options.clientCertificate.keyPem }),
    });
    // one deadline for the whole exchange: connect, handshake, upload and download
    const deadline = setTimeout(() => {
      fail(
        new CertificateServerError(
          'TIMEOUT',
          `no complete answer from ${url.origin} within ${options.timeoutMs} ms; check that cloudcore is running and reachable`,
        ),
      );
    }, options.timeoutMs);
    request.once('error', (error: NodeJS.ErrnoException) => fail(transportError(url, error)));
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          fail(new CertificateServerError('BAD_RESPONSE', `${url.origin} sent more than ${MAX_RESPONSE_BYTES} bytes; is this a cloudcore certificate server?`));
        } else {
          chunks.push(chunk);
        }
      });
      response.once('error', (error: NodeJS.ErrnoException) => fail(transportError(url, error)));
      response.once('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve({
          status: response.statusCode ?? 0,
          contentType: response.headers['content-type'] ?? '',
          body: Buffer.concat(chunks),
        });
      });
    });
    request.end(options.body);
  });
}

function transportError(url: URL, error: NodeJS.ErrnoException): CertificateServerError {
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new CertificateServerError(
      'SERVER_NOT_TRUSTED',
      `${url.origin} holds a certificate of the cluster CA, but not for the name "${url.hostname}"; nothing was sent. ` +
        'Use an address listed in cloudcore\'s certificate, or add this one to its advertised addresses / DNS names',
      { cause: error },
    );
  }
  if (error.code !== undefined && TRUST_FAILURES.has(error.code)) {
    return new CertificateServerError(
      'SERVER_NOT_TRUSTED',
      `${url.origin} presented a TLS certificate that the cluster CA does not vouch for (${error.code}); ` +
        'nothing was sent. The address may reach another server, or the connection is intercepted: check the server URL',
      { cause: error },
    );
  }
  return new CertificateServerError(
    'UNREACHABLE',
    `cannot talk to the certificate server at ${url.origin} (${error.code ?? error.message}); check the address and that cloudcore is running`,
    { cause: error },
  );
}

/** The server's `{error, message}` refusal as a typed error. */
export function refusalError(url: string, response: CertificateServerResponse): CertificateServerError {
  let serverCode: string | undefined;
  let serverMessage = response.body.toString('utf8').slice(0, 300);
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as { error?: unknown; message?: unknown };
    if (typeof parsed.error === 'string') serverCode = parsed.error;
    if (typeof parsed.message === 'string') serverMessage = parsed.message;
  } catch {
    // not JSON: keep the raw text, it is still the best explanation there is
  }
  return new CertificateServerError(
    'REFUSED',
    `the certificate server at ${url} refused the request (${response.status}${serverCode === undefined ? '' : ` ${serverCode}`}): ${serverMessage}`,
    { status: response.status, ...(serverCode === undefined ? {} : { serverCode }) },
  );
}
