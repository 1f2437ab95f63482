// How the TLS listeners describe a refused socket, in words an operator can act on.
import type { TLSSocket } from 'node:tls';
import { formatAddress } from './options';

export function socketAddress(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  // undefined once Node destroyed the socket, e.g. after refusing its certificate: "unknown:0"
  return formatAddress(socket.remoteAddress, socket.remotePort);
}

/** Why a TLS handshake failed. */
export function describeTlsFailure(error: Error, socket: TLSSocket): string {
  const verification = socket.authorizationError;
  if (verification !== undefined && verification !== null) {
    return `client certificate rejected (${String(verification)}): it must be issued by the hub CA and be valid now`;
  }
  if ((error as { code?: string }).code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    return 'the client did not finish the TLS handshake in time';
  }
  if (/did not return a certificate|certificate required/i.test(error.message)) {
    return 'no client certificate presented: edges must present their node certificate';
  }
  return error.message;
}
