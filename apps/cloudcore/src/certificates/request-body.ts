// Reads a request body with a hard size limit, so a client cannot make the server buffer megabytes.
import type { IncomingMessage } from 'node:http';
import { RequestRefusal } from './refusal';

export function readLimitedBody(request: IncomingMessage, limitBytes: number): Promise<string> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    request.resume(); // discard, so that the 413 can still be written on this connection
    return Promise.reject(tooLarge(limitBytes, declared));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      // Stop keeping data but keep reading it (not destroying the stream, which would also
      // destroy the socket before the 413 is sent); the response closes the connection.
      request.off('data', onData);
      request.resume();
      reject(tooLarge(limitBytes, size));
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

function tooLarge(limitBytes: number, size: number): RequestRefusal {
  return new RequestRefusal(
    413,
    'BODY_TOO_LARGE',
    `request body of ${size} bytes or more exceeds the ${limitBytes} byte limit; send only the PEM certificate signing request`,
  );
}
