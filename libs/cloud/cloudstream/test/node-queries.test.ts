// NodeQueries over a real MessageRouter: the request leaves in cloud form for the node's session, the
// edge's reply settles it, and every failure is a NodeQueryError with the HTTP code a kubelet API
// answers with, counted by target and result. (tools/e2e/metrics.test.ts runs it over a real hub.)
import { newErrorResponse, newResponse, parseCloudResource, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { metricValue } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeQueries, NodeQueryError, NodeQueryMetrics } from '../src/index';

type Answer = (request: Message) => Message | undefined;

function setup(answer: Answer, connected = ['gw-1']) {
  const router = new MessageRouter();
  const registry = new Registry();
  const sent: Message[] = [];
  const hub = {
    isConnected: (node: string) => connected.includes(node),
    sendToNode: async (message: Message) => {
      sent.push(message);
      const reply = answer(message);
      // the edge answers on a later turn, as over a socket
      if (reply) setImmediate(() => void router.dispatch(reply));
    },
  };
  const queries = new NodeQueries({ hub, router, timeoutMs: 300, metrics: new NodeQueryMetrics(registry) });
  return { router, registry, sent, queries };
}

const count = (registry: Registry, target: string, result: string) => metricValue(registry, 'kedge_cloudstream_node_queries_total', { target, result });

describe('node queries - the cloud end of kubelet queries', () => {
  let router: MessageRouter | undefined;
  afterEach(() => router?.close());

  it('node queries - sends group kubelet, operation query, resource node/<n>/null/kubelet/<target>, and returns the answer', async () => {
    const summary = { node: { nodeName: 'gw-1', startTime: '2026-01-01T00:00:00Z' }, pods: [] };
    const env = setup((request) => {
      const { name } = parseCloudResource(request.route.resource);
      if (name === 'summary') return newResponse(request, summary);
      if (name === 'metrics-resource') return newResponse(request, 'scrape_error 0\n');
      return newResponse(request, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'p' } }] });
    });
    router = env.router;
    expect(await env.queries.summary('gw-1')).toEqual(summary);
    expect(await env.queries.resourceMetrics('gw-1')).toBe('scrape_error 0\n');
    expect(await env.queries.pods('gw-1')).toMatchObject({ kind: 'PodList', items: [{ metadata: { name: 'p' } }] });
    expect(env.sent.map((m) => [m.route.group, m.route.operation, m.route.resource])).toEqual([
      ['kubelet', 'query', 'node/gw-1/null/kubelet/summary'],
      ['kubelet', 'query', 'node/gw-1/null/kubelet/metrics-resource'],
      ['kubelet', 'query', 'node/gw-1/null/kubelet/pods'],
    ]);
    expect(await count(env.registry, 'summary', 'ok')).toBe(1);
  });

  it('node queries - a node without a session is 503, no answer in time 504, an edge error 502', async () => {
    const env = setup((request) => (parseCloudResource(request.route.resource).name === 'pods' ? newErrorResponse(request, 'store closed') : undefined));
    router = env.router;
    await expect(env.queries.summary('gw-2')).rejects.toMatchObject({ name: 'NodeQueryError', code: 503, result: 'not-connected' });
    await expect(env.queries.summary('gw-1')).rejects.toMatchObject({ code: 504, result: 'timeout', message: expect.stringContaining('within 300 ms') });
    await expect(env.queries.pods('gw-1')).rejects.toMatchObject({ code: 502, result: 'edge-error', message: expect.stringContaining('store closed') });
    expect(await count(env.registry, 'summary', 'timeout')).toBe(1);
    expect(await count(env.registry, 'pods', 'edge-error')).toBe(1);
    expect(env.router.pendingRequestCount).toBe(0);
  });

  it('attack - an edge answering nonsense or for another node is refused as an invalid reply', async () => {
    const replies: unknown[] = [
      { node: { nodeName: 'gw-other' }, pods: [] },
      { node: 'x', pods: 'y' },
      ['not', 'a', 'summary'],
    ];
    const env = setup((request) => {
      const { name } = parseCloudResource(request.route.resource);
      if (name === 'summary') return newResponse(request, replies.shift());
      if (name === 'metrics-resource') return newResponse(request, { text: 'not a string' });
      return newResponse(request, { kind: 'PodList', items: [1, 2] });
    });
    router = env.router;
    for (let i = 0; i < 3; i++) {
      const error = await env.queries.summary('gw-1').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NodeQueryError);
      expect(error).toMatchObject({ code: 502, result: 'invalid-reply' });
    }
    await expect(env.queries.resourceMetrics('gw-1')).rejects.toMatchObject({ result: 'invalid-reply' });
    await expect(env.queries.pods('gw-1')).rejects.toMatchObject({ result: 'invalid-reply' });
    expect(await count(env.registry, 'summary', 'invalid-reply')).toBe(3);
  });
});
