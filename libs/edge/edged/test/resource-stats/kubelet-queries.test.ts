// The edge end of kubelet queries over a real MessageRouter: each target answers in the kubelet's form,
// a failed collection still answers metrics-resource with scrape_error 1, and a malformed query gets an
// error reply naming what was wrong and is counted, never thrown.
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger } from '@kedge/telemetry';
import { metricValue, waitFor } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeletQueryHandler, KubeletQueryMetrics, type Summary } from '../../src/index';

const logger = createLogger({ name: 'kubelet-queries-test', level: 'silent' });
const SUMMARY: Summary = { node: { nodeName: 'gw-1', startTime: '2026-01-01T00:00:00.000Z', memory: { time: '2026-12-07T10:00:00.000Z', workingSetBytes: 5 } }, pods: [] };

function setup(summary: () => Promise<Summary>) {
  const router = new MessageRouter();
  const registry = new Registry();
  const replies: Message[] = [];
  const handler = new KubeletQueryHandler({
    router,
    send: async (message) => void replies.push(message),
    summary,
    pods: () => [{ metadata: { name: 'web', namespace: 'default' } }],
    logger,
    metrics: new KubeletQueryMetrics(registry),
  });
  const ask = async (resource: string, operation = 'query'): Promise<Message> => {
    const request = newMessage({ source: 'cloudstream', group: 'kubelet', operation, resource, content: null, sync: true });
    await router.dispatch(request);
    await waitFor(() => replies.some((r) => r.header.parent_msg_id === request.header.msg_id), `the answer to ${resource}`, { timeoutMs: 5_000 });
    return replies.find((r) => r.header.parent_msg_id === request.header.msg_id) as Message;
  };
  return { router, registry, handler, ask };
}

describe('kubelet queries - the edge answers', () => {
  let router: MessageRouter | undefined;
  afterEach(() => router?.close());

  it('kubelet queries - summary, metrics-resource and pods in the kubelet forms', async () => {
    const env = setup(async () => SUMMARY);
    router = env.router;
    const summary = await env.ask('null/kubelet/summary');
    expect(summary.route).toMatchObject({ group: 'kubelet', operation: 'response', resource: 'null/kubelet/summary' });
    expect(summary.content).toEqual(SUMMARY);
    const text = (await env.ask('null/kubelet/metrics-resource')).content as string;
    expect(text).toContain(`node_memory_working_set_bytes 5 ${Date.parse('2026-12-07T10:00:00.000Z')}\n`);
    expect(text).toContain('\nscrape_error 0\n');
    expect((await env.ask('null/kubelet/pods')).content).toEqual({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'web', namespace: 'default' } }] });
    expect(await metricValue(env.registry, 'kedge_edged_kubelet_queries_total', { target: 'summary', result: 'ok' })).toBe(1);
  });

  it('kubelet queries - a failed collection: summary is an error reply, metrics-resource says scrape_error 1', async () => {
    const env = setup(async () => {
      throw new Error('runtime at /run/containerd.sock: UNAVAILABLE');
    });
    router = env.router;
    const summary = await env.ask('null/kubelet/summary');
    expect(summary.route.operation).toBe('error');
    expect(summary.content).toContain('UNAVAILABLE');
    const text = (await env.ask('null/kubelet/metrics-resource')).content as string;
    expect(text).toContain('\nscrape_error 1\n');
    expect(await metricValue(env.registry, 'kedge_edged_kubelet_queries_total', { target: 'summary', result: 'error' })).toBe(1);
  });

  it.each([
    ['null/kubelet/secrets', 'query', 'must be null/kubelet/<summary|metrics-resource|pods>'],
    ['default/kubelet/summary', 'query', 'must be null/kubelet/'],
    ['null/pod/summary', 'query', 'must be null/kubelet/'],
    ['null/kubelet', 'query', 'must be null/kubelet/'],
    ['../kubelet/summary', 'query', 'namespace segment'],
    ['null/kubelet/summary', 'delete', 'operation "delete" is not supported'],
  ])('attack - a malformed query %s (%s) gets an error reply and is counted', async (resource, operation, reason) => {
    let collected = 0;
    const env = setup(async () => {
      collected += 1;
      return SUMMARY;
    });
    router = env.router;
    const reply = await env.ask(resource, operation);
    expect(reply.route.operation).toBe('error');
    expect(reply.content).toContain(reason);
    expect(collected).toBe(0);
    expect(await metricValue(env.registry, 'kedge_edged_kubelet_queries_total', { target: 'invalid', result: 'invalid' })).toBe(1);
  });
});
