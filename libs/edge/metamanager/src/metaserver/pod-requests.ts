// What a pod's request means for authorization (reads), and how its writes reach the cloud: forwarded
// over the hub with the pod's own token as the only credential, the API server's answer returned
// verbatim. Offline, a write is a 503 Status naming the cloud link (reads keep working).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceAttributes } from '@kedge/protocol';
import { queryBoolean, StatusError, type Status } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import type { Counter } from 'prom-client';
import { CloudRefusedError, CloudUnavailableError, type PodApiCloud } from '../pod-api/cloud-pod-api';
import type { ApiRoute } from './api-request';

/** the largest write body forwarded (the hub's frames are bounded too) */
export const MAX_FORWARDED_BODY_BYTES = 3 * 1024 * 1024;

/** The RBAC attributes of a read, as kube-apiserver derives them; undefined for discovery (any authenticated user). */
export function readAttributes(route: ApiRoute, query: URLSearchParams): ResourceAttributes | undefined {
  const watch = queryBoolean(query, 'watch') === true;
  switch (route.kind) {
    case 'namespace':
      return { verb: 'get', group: '', resource: 'namespaces', name: route.name };
    case 'collection':
      return { verb: watch ? 'watch' : 'list', group: '', resource: route.resource.plural, ...(route.namespace === undefined ? {} : { namespace: route.namespace }) };
    case 'object':
      return { verb: watch ? 'watch' : 'get', group: '', resource: route.resource.plural, name: route.name, ...(route.namespace === undefined ? {} : { namespace: route.namespace }) };
    default:
      return undefined;
  }
}

function sendStatus(response: ServerResponse, status: Status): void {
  const text = JSON.stringify(status);
  response.writeHead(status.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORWARDED_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export interface ForwardContext {
  cloud: PodApiCloud;
  token: string;
  url: URL;
  logger: Logger;
  forwarded: Counter<'result'>;
}

export async function forwardPodWrite(request: IncomingMessage, response: ServerResponse, context: ForwardContext): Promise<void> {
  const { cloud, url, forwarded } = context;
  const method = request.method ?? 'POST';
  const body = await readBody(request);
  if (body === undefined) {
    sendStatus(response, new StatusError(413, 'RequestEntityTooLarge', `the request body is larger than ${MAX_FORWARDED_BODY_BYTES} bytes, the most MetaServer forwards to the cloud`).toStatus());
    return;
  }
  const contentType = request.headers['content-type'];
  try {
    const answer = await cloud.forward({
      token: context.token,
      method,
      path: `${url.pathname}${url.search}`,
      ...(body === '' ? {} : { body }),
      ...(contentType === undefined ? {} : { contentType }),
    });
    forwarded.inc({ result: `${Math.floor(answer.code / 100)}xx` });
    response.writeHead(answer.code, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body) });
    response.end(answer.body);
  } catch (error) {
    if (error instanceof CloudUnavailableError) {
      forwarded.inc({ result: 'cloud_unreachable' });
      sendStatus(
        response,
        new StatusError(503, 'ServiceUnavailable', `the cloud link is down: MetaServer performs writes (${method} ${url.pathname.slice(0, 200)}) on the cloud API server, which this gateway cannot reach now (${error.message}); reads keep working from the local store`).toStatus(),
      );
      return;
    }
    if (error instanceof CloudRefusedError) {
      forwarded.inc({ result: 'refused' });
      sendStatus(response, new StatusError(403, 'Forbidden', `the cloud refused to perform this write: ${error.message}`).toStatus());
      return;
    }
    throw error;
  }
}
