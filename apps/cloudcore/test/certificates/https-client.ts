// A bare HTTPS client for poking the certificate server with well-formed and malformed requests.
import { request } from 'node:https';

export interface Call {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** present this client certificate */
  clientCertificate?: { certPem: string; keyPem: string };
  /** send the body chunked, without Content-Length */
  chunked?: boolean;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  raw: Buffer;
  json: { error?: string; message?: string };
}

export function call(port: number, caPem: string, options: Call): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        ca: caPem,
        agent: false,
        // a forged Host header must reach the server: the chain is still checked against caPem, only not the name
        ...(options.headers?.['Host'] === undefined ? {} : { checkServerIdentity: () => undefined }),
        headers: {
          ...options.headers,
          ...(body !== undefined && options.chunked !== true ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        },
        ...(options.clientCertificate === undefined
          ? {}
          : { cert: options.clientCertificate.certPem, key: options.clientCertificate.keyPem }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text = raw.toString('utf8');
          let json: Answer['json'] = {};
          try {
            json = JSON.parse(text) as Answer['json'];
          } catch {
            // not every answer is JSON (certificates are PEM)
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, raw, json });
        });
      },
    );
    // the server may answer and close before a refused body is fully sent; the answer still counts
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
      else setTimeout(() => reject(error), 2000).unref();
    });
    if (body !== undefined && options.chunked === true) {
      // several writes so that the size limit is hit while streaming, not from a header
      const buffer = Buffer.from(body);
      for (let offset = 0; offset < buffer.length; offset += 4096) req.write(buffer.subarray(offset, offset + 4096));
      req.end();
    } else {
      req.end(body);
    }
  });
}
