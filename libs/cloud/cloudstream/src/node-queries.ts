// NodeQueries: the cloud end of the kubelet queries (group `kubelet`, @kedge/protocol kubelet-query).
// It asks a node, through its CloudHub session, for what its kubelet would serve on /pods,
// /stats/summary and /metrics/resource, waits a bounded time for the answer, checks the answer's shape
// before anyone uses it, and counts every query by target and result. Failures are NodeQueryErrors
// carrying the HTTP code a kubelet API or metrics scraper answers with (503 not connected, 504 no answer
// in time, 502 the edge failed or answered nonsense).
import { Counter, type Registry } from 'prom-client';
import {
  KUBELET_QUERY_GROUP,
  KUBELET_QUERY_OPERATION,
  KUBELET_QUERY_TYPE,
  CLUSTER_SCOPED_NAMESPACE,
  formatCloudResource,
  newMessage,
  type KubeletQueryTarget,
  type Message,
} from '@kedge/protocol';
import { RemoteError, RequestTimeoutError, type MessageRouter } from '@kedge/router';
import type { NodeReadEndpoints } from './kubelet-api/node-read-endpoints';

/** What NodeQueries needs of CloudHub. */
export interface NodeQueryHub {
  sendToNode(message: Message): Promise<void>;
  isConnected(nodeName: string): boolean;
}

export type NodeQueryResult = 'ok' | 'not-connected' | 'timeout' | 'edge-error' | 'invalid-reply';

export class NodeQueryError extends Error {
  override readonly name = 'NodeQueryError';
  constructor(
    readonly node: string,
    readonly target: KubeletQueryTarget,
    /** the HTTP status a caller answers with: 502, 503 or 504 */
    readonly code: 502 | 503 | 504,
    readonly result: Exclude<NodeQueryResult, 'ok'>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class NodeQueryMetrics {
  readonly queries: Counter<'target' | 'result'>;
  constructor(registry: Registry) {
    this.queries = new Counter({
      name: 'kedge_cloudstream_node_queries_total',
      help: 'Kubelet queries to edge nodes (summary, metrics-resource, pods), by result (ok, not-connected, timeout, edge-error, invalid-reply)',
      labelNames: ['target', 'result'],
      registers: [registry],
    });
  }
}

export interface NodeQueriesOptions {
  hub: NodeQueryHub;
  router: MessageRouter;
  /** how long to wait for an edge's answer (default 10 s) */
  timeoutMs?: number;
  metrics?: NodeQueryMetrics;
}

const SOURCE = 'cloudstream';
const DEFAULT_TIMEOUT_MS = 10_000;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class NodeQueries implements NodeReadEndpoints {
  private readonly timeoutMs: number;

  constructor(private readonly options: NodeQueriesOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async pods(node: string): Promise<unknown> {
    const content = await this.query(node, 'pods');
    if (!isRecord(content) || content['kind'] !== 'PodList' || !Array.isArray(content['items']) || !content['items'].every(isRecord)) {
      throw this.invalid(node, 'pods', 'expected a v1 PodList object with an items array of objects');
    }
    this.count('pods', 'ok');
    return content;
  }

  async summary(node: string): Promise<unknown> {
    const content = await this.query(node, 'summary');
    if (!isRecord(content) || !isRecord(content['node']) || !Array.isArray(content['pods']) || !content['pods'].every(isRecord)) {
      throw this.invalid(node, 'summary', 'expected a stats/summary object with node and pods');
    }
    // the answer speaks for the node whose session it came on; one naming another node is refused
    if (content['node']['nodeName'] !== node) {
      throw this.invalid(node, 'summary', `node.nodeName is ${JSON.stringify(content['node']['nodeName'])}, not "${node}"`);
    }
    this.count('summary', 'ok');
    return content;
  }

  async resourceMetrics(node: string): Promise<string> {
    const content = await this.query(node, 'metrics-resource');
    if (typeof content !== 'string') throw this.invalid(node, 'metrics-resource', `expected Prometheus text as a string, got ${content === null ? 'null' : typeof content}`);
    this.count('metrics-resource', 'ok');
    return content;
  }

  private async query(node: string, target: KubeletQueryTarget): Promise<unknown> {
    const { hub, router } = this.options;
    if (!hub.isConnected(node)) {
      this.count(target, 'not-connected');
      throw new NodeQueryError(node, target, 503, 'not-connected', `node "${node}" is not connected to this cloudcore; its ${target} cannot be read`);
    }
    const request = newMessage({
      source: SOURCE,
      group: KUBELET_QUERY_GROUP,
      operation: KUBELET_QUERY_OPERATION,
      resource: formatCloudResource({ node, namespace: CLUSTER_SCOPED_NAMESPACE, type: KUBELET_QUERY_TYPE, name: target }),
      content: null,
    });
    let reply: Message;
    try {
      reply = await router.request(request, { timeoutMs: this.timeoutMs, send: (m) => hub.sendToNode(m) });
    } catch (error) {
      if (error instanceof RequestTimeoutError) {
        this.count(target, 'timeout');
        throw new NodeQueryError(node, target, 504, 'timeout', `node "${node}" did not answer its ${target} query within ${this.timeoutMs} ms`, { cause: error });
      }
      if (error instanceof RemoteError) {
        this.count(target, 'edge-error');
        throw new NodeQueryError(node, target, 502, 'edge-error', `node "${node}" could not answer its ${target} query: ${String(error.content).slice(0, 500)}`, { cause: error });
      }
      // the session went away between the check and the send
      this.count(target, 'not-connected');
      throw new NodeQueryError(node, target, 503, 'not-connected', `node "${node}": ${(error as Error).message}`, { cause: error });
    }
    return reply.content;
  }

  private invalid(node: string, target: KubeletQueryTarget, problem: string): NodeQueryError {
    this.count(target, 'invalid-reply');
    return new NodeQueryError(node, target, 502, 'invalid-reply', `node "${node}" answered its ${target} query with an invalid reply: ${problem}`);
  }

  private count(target: KubeletQueryTarget, result: NodeQueryResult): void {
    this.options.metrics?.queries.inc({ target, result });
  }
}
