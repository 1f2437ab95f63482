// HTTPS servers that impersonate the cloud, to check what the edge does (and does not send) to them.
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { IssuedCertificate } from '@kedge/pki';

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface FakeServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Answers GET /ca.crt with `caPem` using `tls` as its own certificate; records everything and refuses the rest. */
export async function startImpersonator(tls: IssuedCertificate, caPem: string): Promise<FakeServer> {
  const seen: SeenRequest[] = [];
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', authorization: request.headers.authorization });
    request.resume();
    if (request.url === '/ca.crt') response.end(caPem);
    else response.writeHead(500).end();
  });
  return listening(server, seen);
}

/** Completes TLS handshakes and then never answers. */
export async function startSilentServer(tls: IssuedCertificate): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: tls.certPem, key: tls.keyPem }, (socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const fake = await listening(server, []);
  return {
    ...fake,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await fake.close();
    },
  };
}

async function listening(server: Server | TlsServer, seen: SeenRequest[]): Promise<FakeServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
