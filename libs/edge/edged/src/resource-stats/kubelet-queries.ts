// The edge end of the cloud's kubelet queries (group `kubelet`, see @kedge/protocol kubelet-query):
// answers `summary`, `metrics-resource` and `pods` for this node over the hub, and refuses anything
// else with an error reply naming what was wrong. Every query is counted by target and result.
import {
  CLUSTER_SCOPED_NAMESPACE,
  KUBELET_QUERY_GROUP,
  KUBELET_QUERY_OPERATION,
  KUBELET_QUERY_TARGETS,
  KUBELET_QUERY_TYPE,
  Operation,
  ProtocolError,
  isKubeletQueryTarget,
  newErrorResponse,
  newResponse,
  parseEdgeResource,
  type KubeletQueryTarget,
  type Message,
} from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { KubeObject } from '@kedge/kube-core';
import { Counter, type Registry } from 'prom-client';
import { resourceMetricsText } from './resource-metrics-text';
import type { Summary } from './summary';

export const KUBELET_QUERY_SOURCE = 'edged';

export class KubeletQueryMetrics {
  readonly queries: Counter<'target' | 'result'>;
  constructor(registry: Registry) {
    this.queries = new Counter({
      name: 'kedge_edged_kubelet_queries_total',
      help: 'Kubelet queries from the cloud (summary, metrics-resource, pods, invalid), by result (ok, error, invalid)',
      labelNames: ['target', 'result'],
      registers: [registry],
    });
  }
}

export interface KubeletQueryHandlerOptions {
  router: MessageRouter;
  /** EdgeHub.send */
  send(message: Message): Promise<void>;
  summary(): Promise<Summary>;
  /** the pods this node runs, from the local store */
  pods(): KubeObject[];
  logger: Logger;
  metrics?: KubeletQueryMetrics;
}

class InvalidQueryError extends Error {}

function targetOf(message: Message): KubeletQueryTarget {
  if (message.route.operation !== KUBELET_QUERY_OPERATION) {
    throw new InvalidQueryError(`kubelet query: operation ${JSON.stringify(message.route.operation)} is not supported, only "${KUBELET_QUERY_OPERATION}"`);
  }
  let resource;
  try {
    resource = parseEdgeResource(message.route.resource);
  } catch (error) {
    if (error instanceof ProtocolError) throw new InvalidQueryError(`kubelet query: ${error.message}`);
    throw error;
  }
  const expected = `${CLUSTER_SCOPED_NAMESPACE}/${KUBELET_QUERY_TYPE}/<${KUBELET_QUERY_TARGETS.join('|')}>`;
  if (resource.namespace !== CLUSTER_SCOPED_NAMESPACE || resource.type !== KUBELET_QUERY_TYPE || !isKubeletQueryTarget(resource.name)) {
    throw new InvalidQueryError(`kubelet query: resource ${JSON.stringify(message.route.resource)} must be ${expected}`);
  }
  return resource.name;
}

export class KubeletQueryHandler {
  private readonly unregister: () => void;

  constructor(private readonly options: KubeletQueryHandlerOptions) {
    this.unregister = options.router.register(KUBELET_QUERY_GROUP, (message) => this.receive(message));
  }

  close(): void {
    this.unregister();
  }

  private async receive(message: Message): Promise<void> {
    // an answer that arrived after its request timed out on the other side: nothing to say back
    if (message.route.operation === Operation.Response || message.route.operation === Operation.Error) return;
    let target: KubeletQueryTarget;
    try {
      target = targetOf(message);
    } catch (error) {
      if (!(error instanceof InvalidQueryError)) throw error;
      this.options.metrics?.queries.inc({ target: 'invalid', result: 'invalid' });
      this.options.logger.warn({ operation: message.route.operation, resource: message.route.resource }, error.message);
      await this.reply(newErrorResponse(message, error.message, KUBELET_QUERY_SOURCE));
      return;
    }
    let content: unknown;
    try {
      content = await this.answer(target);
    } catch (error) {
      const reason = `kubelet query ${target}: ${error instanceof Error ? error.message : String(error)}`;
      this.options.metrics?.queries.inc({ target, result: 'error' });
      this.options.logger.warn({ target }, reason);
      await this.reply(newErrorResponse(message, reason, KUBELET_QUERY_SOURCE));
      return;
    }
    this.options.metrics?.queries.inc({ target, result: 'ok' });
    await this.reply(newResponse(message, content, KUBELET_QUERY_SOURCE));
  }

  private async answer(target: KubeletQueryTarget): Promise<unknown> {
    switch (target) {
      case 'summary':
        return this.options.summary();
      case 'metrics-resource': {
        // as the kubelet: a failed collection is still a scrape, with scrape_error 1
        const summary = await this.options.summary().catch((error: unknown) => {
          this.options.logger.warn({ error: (error as Error).message }, 'resource stats could not be collected; answering scrape_error 1');
          return undefined;
        });
        return resourceMetricsText(summary);
      }
      case 'pods':
        return { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.options.pods() };
    }
  }

  private async reply(message: Message): Promise<void> {
    try {
      await this.options.send(message);
    } catch (error) {
      // the link went down: the cloud's request times out on its side
      this.options.logger.debug({ error: (error as Error).message }, 'kubelet query answer not sent');
    }
  }
}
