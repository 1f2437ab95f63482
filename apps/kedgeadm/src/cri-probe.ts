// A minimal CRI RuntimeService/Version call over gRPC on the unix socket (node:http2, hand-encoded
// protobuf): enough for diagnose to ask "does containerd answer?" without depending on an edge lib.
import { connect, constants } from 'node:http2';
import { connect as netConnect } from 'node:net';

export interface CriVersion {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

function encodeVersionRequest(apiVersion: string): Buffer {
  const text = Buffer.from(apiVersion);
  const message = Buffer.concat([Buffer.from([0x0a, text.length]), text]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(message.length, 1);
  return Buffer.concat([frame, message]);
}

function decodeStrings(message: Buffer): Map<number, string> {
  const fields = new Map<number, string>();
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = message[at++] ?? 0;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
      shift += 7;
    }
  };
  while (at < message.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 2) {
      const length = varint();
      fields.set(Math.floor(key / 8), message.subarray(at, at + length).toString('utf8'));
      at += length;
    } else if (wire === 0) varint();
    else break;
  }
  return fields;
}

export function criVersion(socketPath: string, timeoutMs = 3000): Promise<CriVersion> {
  return new Promise((resolve, reject) => {
    const session = connect('http://localhost', { createConnection: () => netConnect(socketPath) });
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | undefined, value?: CriVersion): void => {
      clearTimeout(timer);
      session.close();
      session.destroy();
      if (error) reject(error);
      else resolve(value as CriVersion);
    };
    session.on('error', (error) => finish(error));
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/runtime.v1.RuntimeService/Version',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    stream.on('trailers', (trailers) => {
      grpcStatus = String(trailers['grpc-status'] ?? '');
      grpcMessage = String(trailers['grpc-message'] ?? '');
    });
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) grpcMessage = String(headers['grpc-message']);
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => finish(error));
    stream.on('end', () => {
      if (grpcStatus !== '0') return finish(new Error(`gRPC status ${grpcStatus ?? '?'} ${decodeURIComponent(grpcMessage)}`.trim()));
      const body = Buffer.concat(chunks);
      const fields = decodeStrings(body.subarray(5, 5 + body.readUInt32BE(1)));
      finish(undefined, {
        version: fields.get(1) ?? '',
        runtimeName: fields.get(2) ?? '',
        runtimeVersion: fields.get(3) ?? '',
        runtimeApiVersion: fields.get(4) ?? '',
      });
    });
    stream.end(encodeVersionRequest('v1'));
  });
}
