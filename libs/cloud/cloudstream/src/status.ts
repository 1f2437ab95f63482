// Kubernetes Status objects for stream failures: as an HTTP answer, on a raw socket before an upgrade,
// and as the exec error channel's payload.
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalError',
  501: 'NotImplemented',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function failureStatus(code: number, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'InternalError', code };
}

export function writeStatus(response: ServerResponse, code: number, message: string): void {
  const body = JSON.stringify(failureStatus(code, message));
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/** Answers an upgrade request that will not be upgraded, then closes the socket. */
export function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  const body = JSON.stringify(failureStatus(code, message));
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** The exec error channel's Status: Success, or Failure with the exit code as kubectl reads it. */
export function execStatus(exitCode: number | undefined, message?: string): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  if (exitCode === undefined) return { metadata: {}, status: 'Failure', message: message ?? 'exec failed', reason: 'InternalError' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}
