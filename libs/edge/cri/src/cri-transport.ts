// The gRPC side of the CRI client: loads the proto subset next to this package and performs unary calls
// with a deadline over a unix socket. Everything above this file speaks typed objects, not grpc-js.
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadSync } from '@grpc/proto-loader';

export type CriServiceName = 'RuntimeService' | 'ImageService';

const PROTO_PATH = join(import.meta.dirname, '..', 'proto', 'cri-runtime-v1.proto');

// camelCase fields, int64 as decimal strings (ns timestamps do not fit a number), enums by name, and
// default values filled in, so a response always has every declared field.
const packageDefinition = loadSync(PROTO_PATH, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });

// The runtime may return up to 16 MiB of stdout plus 16 MiB of stderr from ExecSync.
const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

function methodDefinition(service: CriServiceName, method: string): MethodDefinition<object, object> {
  const definition = packageDefinition[`runtime.v1.${service}`] as Record<string, MethodDefinition<object, object>> | undefined;
  const methodDef = definition?.[method];
  if (!methodDef) throw new Error(`runtime.v1.${service}/${method} is not in ${PROTO_PATH}`);
  return methodDef;
}

export class CriTransport {
  private readonly client: Client;

  constructor(readonly socketPath: string) {
    this.client = new Client(`unix://${socketPath}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
  }

  /** One unary call; rejects with the raw grpc-js ServiceError, which the caller turns into a CriError. */
  unary<Response>(service: CriServiceName, method: string, request: object, timeoutMs: number): Promise<Response> {
    const definition = methodDefinition(service, method);
    return new Promise<Response>((resolve, reject) => {
      this.client.makeUnaryRequest(
        definition.path,
        definition.requestSerialize,
        definition.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          if (error) reject(error);
          else resolve(response as Response);
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
