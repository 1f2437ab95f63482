// Every HTTP request and upgrade enters here: parse the path, authenticate, route, authorize, run the
// handler. Every failure becomes a Status response; an unexpected exception is logged and answered
// 500, and the server keeps serving.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { badRequest, internalError, pathNotFound, StatusError, unauthorized, type Status } from '@kedge/kube-core';
import { negotiate, sendStatus } from '../http';
import { effectiveUser, type Authenticator, type UserInfo } from '../auth';
import { handleConnectUpgrade, handleResourceRequest, parseFieldSelectorOnly, type HandlerServices, type ResourceRequest } from '../handlers';
import type { ApiMetrics } from '../metrics';
import type { OpenApiDocuments } from '../openapi';
import { parseRequestPath, requestVerb, type RequestPath, type ResourcePath } from '../routing';
import { serveNonResource } from './non-resource-endpoints';

export interface DispatcherDependencies {
  services: HandlerServices;
  authenticator: Authenticator;
  metrics: ApiMetrics;
  openapi: OpenApiDocuments;
  registry: Registry | undefined;
  serverAddress: () => string;
}

const PASS_THROUGH_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);
/** verbs whose response acknowledges a write: it leaves only once the write is on disk */
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const REJECTION_CODES = new Set([400, 401, 403, 405, 406, 413, 415, 422]);

interface RequestLabels {
  verb: string;
  group: string;
  resource: string;
}

function splitUrl(url: string | undefined): { path: string; query: URLSearchParams } {
  const text = url ?? '/';
  const index = text.indexOf('?');
  const path = index === -1 ? text : text.slice(0, index);
  return { path, query: new URLSearchParams(index === -1 ? '' : text.slice(index + 1)) };
}

export class RequestDispatcher {
  constructor(private readonly deps: DispatcherDependencies) {}

  handle(request: IncomingMessage, response: ServerResponse): void {
    const labels: RequestLabels = { verb: request.method ?? '', group: '', resource: '' };
    response.on('close', () => this.record(labels, response.statusCode));
    this.process(request, response, labels).catch((error: unknown) => this.fail(response, error, request));
  }

  /** Upgrade requests (pods/exec, attach, portforward) on the raw socket. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    try {
      const context = this.resolve(request, undefined, { verb: 'CONNECT', group: '', resource: '' });
      if (context === undefined || context.kind !== 'resource') throw pathNotFound(splitUrl(request.url).path);
      handleConnectUpgrade(context.context, request, socket, head);
    } catch (error) {
      const status = this.statusOf(error, request);
      this.record({ verb: 'CONNECT', group: '', resource: parseResourceName(request.url) }, status.code);
      const body = JSON.stringify(status);
      socket.end(
        `HTTP/1.1 ${status.code} ${status.reason ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
  }

  private async process(request: IncomingMessage, response: ServerResponse, labels: RequestLabels): Promise<void> {
    const resolved = this.resolve(request, response, labels);
    if (resolved === undefined) return;
    if (resolved.kind === 'nonResource') {
      await serveNonResource(resolved.path, {
        catalog: this.deps.services.catalog,
        openapi: this.deps.openapi,
        registry: this.deps.registry,
        serverAddress: this.deps.serverAddress(),
        accept: request.headers.accept,
      }, response);
      return;
    }
    const { context } = resolved;
    if (!WRITE_VERBS.has(context.verb) || PASS_THROUGH_SUBRESOURCES.has(context.path.subresource ?? '')) {
      await handleResourceRequest(context);
      return;
    }
    // group commit: the handler commits at once and ends its response, but the end (and so the head
    // and body: Node sends nothing of a response before its first write) is held until the fsync that
    // covers the commit has ended, shared with the writes that came with it
    const end = response.end;
    const mark = this.deps.services.store.storage.durabilityMark();
    let heldEnd: (() => void) | undefined;
    response.end = ((...args: Parameters<ServerResponse['end']>) => {
      heldEnd = () => void end.apply(response, args);
      return response;
    }) as ServerResponse['end'];
    try {
      await handleResourceRequest(context);
    } finally {
      response.end = end;
      await this.releaseWhenDurable(response, request, heldEnd, mark);
    }
  }

  /** Ends the held response once every write so far is on disk; cuts the connection if that failed. */
  private async releaseWhenDurable(response: ServerResponse, request: IncomingMessage, heldEnd: (() => void) | undefined, mark: number): Promise<void> {
    try {
      await this.deps.services.store.storage.whenDurable(mark);
      heldEnd?.();
    } catch (error) {
      // no answer at all rather than a 2xx for a write that may not be on disk
      this.deps.services.logger.error({ err: error, url: request.url }, 'a write could not be made durable; connection closed without an answer');
      response.destroy();
    }
  }

  private resolve(
    request: IncomingMessage,
    response: ServerResponse | undefined,
    labels: RequestLabels,
  ): { kind: 'nonResource'; path: Exclude<RequestPath, ResourcePath> } | { kind: 'resource'; context: ResourceRequest } | undefined {
    const { path: rawPath, query } = splitUrl(request.url);
    const path = parseRequestPath(rawPath);
    if (path.kind === 'health') {
      if (response !== undefined) response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
      return undefined;
    }
    const authenticated = this.deps.authenticator.authenticate(request);
    if (authenticated === undefined) throw unauthorized();
    const user = effectiveUser(authenticated, request.headers, this.deps.services.authorizer);
    if (path.kind !== 'resource') {
      this.deps.services.authorizer.authorizeNonResource(user, request.method ?? 'GET', rawPath);
      return { kind: 'nonResource', path };
    }
    return { kind: 'resource', context: this.resourceContext(request, response, path, query, user, labels) };
  }

  private resourceContext(
    request: IncomingMessage,
    response: ServerResponse | undefined,
    path: ResourcePath,
    query: URLSearchParams,
    user: UserInfo,
    labels: RequestLabels,
  ): ResourceRequest {
    const { services } = this.deps;
    labels.group = path.group;
    labels.resource = path.resource;
    const type = services.catalog.find(path.group, path.version, path.resource);
    if (type === undefined) throw pathNotFound(splitUrl(request.url).path);
    const verb = requestVerb(request.method ?? 'GET', path, query);
    labels.verb = verb.toUpperCase();
    const attributes = {
      verb,
      type,
      subresource: path.subresource,
      namespace: type.namespaced ? path.namespace : undefined,
      name: path.name,
      fieldSelector: parseFieldSelectorOnly(query),
    };
    services.authorizer.authorize(user, attributes);
    // logs, streams and kubelet proxying answer in the kubelet's own content types
    const passThrough = path.subresource !== undefined && PASS_THROUGH_SUBRESOURCES.has(path.subresource);
    const form = negotiate(passThrough ? undefined : request.headers.accept, { allowTable: verb === 'get' || verb === 'list' || verb === 'watch', allowDiscovery: false });
    return {
      request,
      // upgrades have no ServerResponse; their handler writes to the socket
      response: response as ServerResponse,
      query,
      path,
      verb,
      type,
      user,
      attributes,
      form,
      services,
    };
  }

  private statusOf(error: unknown, request: IncomingMessage): Status {
    if (error instanceof StatusError) return error.toStatus();
    if (isValidationError(error)) {
      return new StatusError(422, 'Invalid', error.message).toStatus();
    }
    // storage refuses keys and values no valid request can produce: the request was bad, not the server
    if (hasCode(error, 'INVALID_ARGUMENT')) return badRequest(error instanceof Error ? error.message : String(error)).toStatus();
    this.deps.services.logger.error({ err: error, method: request.method, url: request.url }, 'request failed unexpectedly');
    return internalError(error instanceof Error ? error.message : String(error)).toStatus();
  }

  private fail(response: ServerResponse, error: unknown, request: IncomingMessage): void {
    const status = this.statusOf(error, request);
    if (status.code >= 500) this.deps.services.logger.warn({ code: status.code, url: request.url }, status.message ?? 'server error');
    if (response.headersSent) {
      // a streaming response (watch, log) failed midway: all that can be done is to end it
      response.destroy();
      return;
    }
    if (status.code === 413) response.setHeader('connection', 'close');
    sendStatus(response, status);
  }

  private record(labels: RequestLabels, code: number): void {
    this.deps.metrics.request({ ...labels, code });
    if (REJECTION_CODES.has(code)) this.deps.metrics.rejected(String(code));
  }
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function isValidationError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'ValidationError';
}

/** pods or nodes, for the request counter of a refused upgrade */
function parseResourceName(url: string | undefined): string {
  return /\/nodes\/[^/]+\/proxy/.test(url ?? '') ? 'nodes' : 'pods';
}
