// The TLS listening socket of the WebSocket and WebTransport hubs: mutual TLS is mandatory (secure by
// default), and listening is awaited so a taken port fails the listen call instead of surfacing later.
import type { Server } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { TlsMaterial } from './connection';

/** Server options that demand a client certificate chained to the hub CA, TLS 1.2 or newer. */
export function mutualTlsServerOptions(tls: TlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** Resolves once the server listens; rejects with the listen error (EADDRINUSE, EACCES, ...). */
export function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
