// Calls to the API server made with a pod's own ServiceAccount token and nothing else: the cluster's TLS
// trust (its CA) from cloudcore's kubeconfig, but never cloudcore's client certificate, token or exec
// credential. What an edge pod asks the cloud to do is then decided by the cluster's authentication and
// RBAC for that pod, and cloudcore needs (and lends) no rights of its own.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** The API server's answer, exactly as it came: status code, content type and body. */
export interface ApiAnswer {
  code: number;
  contentType: string;
  body: string;
}

export interface PodCallOptions {
  method: string;
  /** path with its query string, e.g. /api/v1/namespaces/x/configmaps?dryRun=All */
  path: string;
  token: string;
  body?: string;
  contentType?: string;
}

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export class PodCredentialClient {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly timeoutMs = 30_000,
  ) {}

  /** @throws Error when the API server cannot be reached (not for HTTP error statuses: those are answers) */
  async call(options: PodCallOptions): Promise<ApiAnswer> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + options.path);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${options.token}` };
    if (options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(options.body));
    }
    // TLS trust only: the CA of the cluster, no client certificate and no key of cloudcore's
    const tls: RequestOptions = { rejectUnauthorized: cluster.skipTLSVerify !== true };
    if (cluster.caData !== undefined) tls.ca = Buffer.from(cluster.caData, 'base64');
    else if (cluster.caFile !== undefined) tls.ca = readFileSync(cluster.caFile);
    if (cluster.tlsServerName !== undefined) tls.servername = cluster.tlsServerName;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<ApiAnswer>((resolve, reject) => {
      const req = request(url, { ...tls, method: options.method, headers, timeout: this.timeoutMs, agent: false }, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`${options.method} ${url.pathname}: answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        response.on('end', () =>
          resolve({ code: response.statusCode ?? 0, contentType: String(response.headers['content-type'] ?? 'application/json'), body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${options.method} ${url.pathname}: no answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(options.body);
    });
  }
}
