// The raw baseline of the edge-scale benchmark, run as its own process: a bare Node `https` server with
// a `ws` WebSocketServer and mutual TLS (the CA in the pki directory given as the first argument),
// holding every connection and answering nothing. Sends `{port}` once listening and answers a
// `memory` message with process.memoryUsage() over the IPC channel.
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { issueServerCertificate, loadOrCreateAuthority } from '@kedge/pki';
import { WebSocketServer } from 'ws';

const pkiDir = process.argv[2];
if (pkiDir === undefined) throw new Error('usage: raw-server.ts <pki directory>');
const ca = await loadOrCreateAuthority(pkiDir);
const certificate = await issueServerCertificate(ca, { commonName: 'raw-baseline', ipAddresses: ['127.0.0.1'], validityDays: 1 });
const server = createServer({ cert: certificate.certPem, key: certificate.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' });
const webSockets = new WebSocketServer({ server, perMessageDeflate: false });
webSockets.on('connection', (socket) => socket.on('error', () => undefined));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
process.send?.({ port: (server.address() as AddressInfo).port });
process.on('message', (message: { type: string }) => {
  if (message.type === 'memory') process.send?.({ memory: process.memoryUsage() });
});
process.on('disconnect', () => process.exit(0));
