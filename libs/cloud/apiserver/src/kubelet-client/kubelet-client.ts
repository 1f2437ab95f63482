// The embedded API server's client of node kubelets, as kube-apiserver's: it finds the Node, picks its
// address and kubelet port, and dials it over TLS with a kubelet-client certificate, verifying the
// kubelet's serving certificate against `ca`. Plain requests (pods/log, nodes/proxy) are proxied and
// streamed; upgrades (exec, attach, portforward) are written to the kubelet and then both sockets are
// piped raw, so the channel protocols pass through untouched.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { StatusError, notFound } from '@kedge/kube-core';
import { DEFAULT_PREFERRED_ADDRESS_TYPES, kubeletLocation, type KubeletLocation, type NodeLike } from './node-location';

export interface KubeletClientOptions {
  clientCertPem: string;
  clientKeyPem: string;
  /** verifies the kubelet's serving certificate; required, as kube-apiserver's --kubelet-certificate-authority */
  caPem: string;
  /** default InternalIP, Hostname, ExternalIP */
  preferredAddressTypes?: readonly string[];
  /** default 10 s */
  dialTimeoutMs?: number;
  /** largest answer getText reads (default 16 MiB) */
  maxTextBytes?: number;
}

// hop-by-hop and credential headers are not passed to the kubelet: it authenticates the API server, not the user
const NOT_FORWARDED = new Set(['authorization', 'host', 'proxy-authorization', 'keep-alive', 'transfer-encoding', 'te', 'trailer']);
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function dialError(error: unknown): StatusError {
  const message = error instanceof Error ? error.message : String(error);
  return new StatusError(500, 'InternalError', `error dialing backend: ${message}`);
}

export class KubeletClient {
  private readonly preferred: readonly string[];
  private readonly dialTimeoutMs: number;

  constructor(
    private readonly options: KubeletClientOptions,
    /** the stored Node, undefined when there is none */
    private readonly findNode: (name: string) => NodeLike | undefined,
  ) {
    if (!options.caPem) throw new RangeError('the kubelet client needs the CA of the kubelets\' serving certificates (caPem)');
    this.preferred = options.preferredAddressTypes ?? DEFAULT_PREFERRED_ADDRESS_TYPES;
    this.dialTimeoutMs = options.dialTimeoutMs ?? 10_000;
  }

  /** Where the node's kubelet is. @throws StatusError 404 for an unknown node, 500 without an address */
  location(nodeName: string): KubeletLocation {
    const node = this.findNode(nodeName);
    if (node === undefined) throw notFound({ group: '', resource: 'nodes' }, nodeName);
    return kubeletLocation(node, this.preferred);
  }

  /** GET a kubelet path and read the answer as text (metrics.k8s.io reads /metrics/resource this way). */
  getText(nodeName: string, path: string): Promise<string> {
    const location = this.location(nodeName);
    const limit = this.options.maxTextBytes ?? 16 * 1024 * 1024;
    return new Promise<string>((resolve, reject) => {
      const upstream = httpsRequest({ ...this.tlsOptions(location), method: 'GET', path, headers: { accept: 'text/plain, application/json' } }, (answer) => {
        const chunks: Buffer[] = [];
        let size = 0;
        answer.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) upstream.destroy(new Error(`the answer of ${path} on node ${nodeName} is larger than ${limit} bytes`));
          else chunks.push(chunk);
        });
        answer.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = answer.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(text);
          else reject(new StatusError(code >= 500 ? 503 : code, code >= 500 ? 'ServiceUnavailable' : 'BadRequest', `kubelet of node ${nodeName} answered ${code} for ${path}: ${text.slice(0, 512)}`));
        });
        answer.on('error', (error) => reject(dialError(error)));
      });
      upstream.setTimeout(this.dialTimeoutMs, () => upstream.destroy(new Error(`no answer within ${this.dialTimeoutMs} ms`)));
      upstream.on('error', (error) => reject(error instanceof StatusError ? error : dialError(error)));
      upstream.end();
    });
  }

  /**
   * Proxies one plain request to the kubelet and streams the answer back (pods/log, nodes/proxy). The
   * kubelet's status and body pass through; a failed dial is a 500 Status before anything was written.
   */
  proxy(nodeName: string, pathAndQuery: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const location = this.location(nodeName);
    return new Promise<void>((resolve, reject) => {
      let answered = false;
      const upstream = httpsRequest(
        { ...this.tlsOptions(location), method: request.method ?? 'GET', path: pathAndQuery, headers: forwardedHeaders(request.rawHeaders, false) },
        (answer) => {
          answered = true;
          upstream.setTimeout(0);
          const headers: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(answer.headers)) {
            if (value !== undefined && !NOT_RETURNED.has(name)) headers[name] = value;
          }
          response.writeHead(answer.statusCode ?? 502, headers);
          // logs -f: the client sees the headers (and each line) as soon as the kubelet sends them
          response.flushHeaders();
          answer.pipe(response);
          answer.on('end', () => resolve());
          answer.on('error', () => {
            response.destroy();
            resolve();
          });
        },
      );
      upstream.setTimeout(this.dialTimeoutMs, () => upstream.destroy(new Error(`dial tcp ${location.host}:${location.port}: i/o timeout`)));
      upstream.on('error', (error) => {
        if (answered) {
          response.destroy();
          resolve();
        } else reject(dialError(error));
      });
      // the client went away: the kubelet side ends too (logs -f stops following)
      response.on('close', () => upstream.destroy());
      request.pipe(upstream);
    });
  }

  /**
   * Writes the upgrade request to the kubelet and pipes both connections raw from then on; the kubelet's
   * 101 (or its refusal) reaches the client as it was sent. A failed dial is answered with a 500 Status.
   */
  upgrade(nodeName: string, pathAndQuery: string, request: IncomingMessage, client: Duplex, head: Buffer): void {
    const location = this.location(nodeName);
    const kubelet: TLSSocket = connect(this.tlsOptions(location));
    let connected = false;
    kubelet.setTimeout(this.dialTimeoutMs, () => kubelet.destroy(new Error(`dial tcp ${location.host}:${location.port}: i/o timeout`)));
    kubelet.once('secureConnect', () => {
      connected = true;
      kubelet.setTimeout(0);
      const lines = [`${request.method ?? 'GET'} ${pathAndQuery} HTTP/1.1`, `Host: ${hostHeader(location)}`];
      const headers = forwardedHeaders(request.rawHeaders, true);
      for (const [name, value] of headers) lines.push(`${name}: ${value}`);
      kubelet.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) kubelet.write(head);
      kubelet.pipe(client);
      client.pipe(kubelet);
    });
    kubelet.on('error', (error) => {
      if (!connected) {
        const status = dialError(error).toStatus();
        const body = JSON.stringify(status);
        client.end(`HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        return;
      }
      client.destroy();
    });
    kubelet.on('close', () => {
      if (connected) client.destroy();
    });
    client.on('error', () => kubelet.destroy());
    client.on('close', () => kubelet.destroy());
  }

  private tlsOptions(location: KubeletLocation) {
    return {
      host: location.host,
      port: location.port,
      ca: this.options.caPem,
      cert: this.options.clientCertPem,
      key: this.options.clientKeyPem,
      // an IP is checked against the certificate's IP SANs; SNI carries only host names
      ...(isIP(location.host) === 0 ? { servername: location.host } : {}),
      agent: false as const,
    };
  }
}

function hostHeader(location: KubeletLocation): string {
  return isIP(location.host) === 6 ? `[${location.host}]:${location.port}` : `${location.host}:${location.port}`;
}

/** The client's headers for the kubelet, repeated ones kept; for an upgrade as name/value pairs. */
function forwardedHeaders(rawHeaders: string[], upgrade: true): Array<[string, string]>;
function forwardedHeaders(rawHeaders: string[], upgrade: false): Record<string, string[]>;
function forwardedHeaders(rawHeaders: string[], upgrade: boolean): Array<[string, string]> | Record<string, string[]> {
  const pairs: Array<[string, string]> = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] ?? '';
    const lower = name.toLowerCase();
    if (NOT_FORWARDED.has(lower) || lower.startsWith('impersonate-')) continue;
    // a plain request is re-framed by node's http client; an upgrade keeps Connection and Upgrade
    if (!upgrade && (lower === 'connection' || lower === 'upgrade')) continue;
    pairs.push([name, rawHeaders[index + 1] ?? '']);
  }
  if (upgrade) return pairs;
  const record: Record<string, string[]> = {};
  for (const [name, value] of pairs) (record[name.toLowerCase()] ??= []).push(value);
  return record;
}
