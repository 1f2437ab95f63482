// Reads objects as the raw JSON the API server wrote. client-node's typed list calls run everything
// through its ObjectSerializer, which drops fields its model does not know and turns timestamps into
// Date objects, while its watch hands out raw JSON: an informer fed by typed lists would hold two
// shapes of the same object. The edge must get objects exactly as Kubernetes wrote them, so lists go
// through this small reader, with TLS and credentials applied by client-node's own KubeConfig.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeList, KubeObject } from '@kedge/kube-core';
import { KubeApiError } from './errors';


const MAX_BODY_BYTES = 512 * 1024 * 1024;

export class KubeJson {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly timeoutMs = 60_000,
  ) {}

  /**
   * GET a list. Items get apiVersion and kind (lists leave them out), so each item stands alone.
   * @throws KubeApiError with the HTTP status
   */
  async list<T extends KubeObject = KubeObject>(path: string, query: Record<string, string> = {}): Promise<KubeList<T>> {
    const list = (await this.get(path, query)) as KubeList<T>;
    if (!Array.isArray(list.items)) throw new KubeApiError(`GET ${path}: the answer has no items array`, path, undefined);
    const kind = typeof list.kind === 'string' && list.kind.endsWith('List') ? list.kind.slice(0, -4) : undefined;
    for (const item of list.items) {
      if (item.apiVersion === undefined && list.apiVersion !== undefined) item.apiVersion = list.apiVersion;
      if (item.kind === undefined && kind !== undefined) item.kind = kind;
    }
    return list;
  }

  /** GET any path; the parsed JSON answer. @throws KubeApiError with the HTTP status */
  async get(path: string, query: Record<string, string> = {}): Promise<unknown> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeApiError('the kubeconfig has no current cluster', path, undefined);
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const options: RequestOptions = { method: 'GET', headers: { accept: 'application/json' }, timeout: this.timeoutMs };
    await this.kubeConfig.applyToHTTPSOptions(options);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, options, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new KubeApiError(`GET ${path}: answer larger than ${MAX_BODY_BYTES} bytes`, path, undefined));
          else chunks.push(chunk);
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new KubeApiError(`GET ${path}: no answer within ${this.timeoutMs} ms`, path, undefined)));
      req.on('error', reject);
      req.end();
    });
    if (status < 200 || status > 299) {
      let reason = body.slice(0, 300);
      try {
        const parsed = JSON.parse(body) as { message?: unknown };
        if (typeof parsed.message === 'string') reason = parsed.message;
      } catch {
        // not a Status object; the raw text is the best we have
      }
      throw new KubeApiError(`GET ${path}: HTTP ${status}: ${reason}`, path, status);
    }
    try {
      return JSON.parse(body) as unknown;
    } catch (error) {
      throw new KubeApiError(`GET ${path}: the answer is not JSON`, path, status, { cause: error });
    }
  }
}
