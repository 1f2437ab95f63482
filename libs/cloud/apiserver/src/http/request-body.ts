// Request bodies: read with the 3 MiB limit of kube-apiserver, decoded as JSON or YAML by content
// type. Every failure is a Status error (400, 413, 415), never an exception that escapes.
import type { IncomingMessage } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { badRequest, requestEntityTooLarge, unsupportedMediaType } from '@kedge/kube-core';
import { ProtobufDecodeError, ProtobufUnsupportedError, decodeKubernetesProtobuf } from '../protobuf';

export const MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the whole body, failing fast on a Content-Length or a stream over `limit`. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume(); // drain, so the 413 can still be written on this connection
    return Promise.reject(requestEntityTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    request.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(requestEntityTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    request.on('error', (error) => {
      if (!failed) {
        failed = true;
        reject(badRequest(`the request body could not be read: ${error.message}`));
      }
    });
  });
}

/** The media type of a Content-Type header without parameters, lowercased; '' when absent. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty; send the object as JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function parseYamlBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty; send the object as YAML');
  const documents = parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(documents)) throw badRequest('the request body is not valid YAML');
  const present = documents.filter((document) => document.contents !== null);
  if (present.length !== 1 || present[0] === undefined) {
    throw badRequest(`the request body must hold exactly one YAML document, found ${present.length}`);
  }
  const document = present[0];
  if (document.errors.length > 0) {
    throw badRequest(`the request body is not valid YAML: ${document.errors[0]?.message ?? 'parse error'}`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const OBJECT_MEDIA_TYPES = ['application/json', 'application/yaml', PROTOBUF_MEDIA_TYPE];

/**
 * A Kubernetes protobuf body as its JSON form. A kind or field this server has no schema for is 415
 * (send JSON instead); bytes that are not a well-formed message are 400 naming the field.
 */
export function parseProtobufBody(body: Buffer): unknown {
  try {
    return decodeKubernetesProtobuf(body);
  } catch (error) {
    if (error instanceof ProtobufUnsupportedError) throw unsupportedMediaType(PROTOBUF_MEDIA_TYPE, OBJECT_MEDIA_TYPES, error.message);
    if (error instanceof ProtobufDecodeError) {
      throw badRequest(`the request body is not a valid Kubernetes protobuf message: ${error.message}`, [
        { reason: 'FieldValueInvalid', field: error.field ?? '', message: error.detail },
      ]);
    }
    throw error;
  }
}

/**
 * A create/update body: JSON (also when no Content-Type is sent), YAML, or Kubernetes protobuf for
 * the kinds kubectl's typed clients send that way; anything else is 415.
 */
export function parseObjectBody(body: Buffer, contentType: string | undefined): unknown {
  const mediaType = mediaTypeOf(contentType);
  if (mediaType === '' || mediaType === 'application/json' || mediaType === '*/*') return parseJsonBody(body);
  if (mediaType === 'application/yaml' || mediaType === 'application/x-yaml' || mediaType === 'text/yaml') return parseYamlBody(body);
  if (mediaType === PROTOBUF_MEDIA_TYPE) return parseProtobufBody(body);
  throw unsupportedMediaType(mediaType, OBJECT_MEDIA_TYPES);
}
