import { PassThrough } from 'node:stream';
import { Counter } from 'prom-client';
import { lanAddress } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry, isLoopbackAddress, processMemory, startMetricsServer, type MetricsServer } from '../src/index';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('telemetry - logger', () => {
  it('writes one JSON object per line with name, level and message', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const logger = createLogger({ name: 'cloudcore', destination: out });
    logger.child({ module: 'cloudhub' }).info({ node: 'gw-1' }, 'node connected');
    await new Promise((r) => setImmediate(r));
    const line = JSON.parse(chunks.join('').trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ name: 'cloudcore', module: 'cloudhub', node: 'gw-1', msg: 'node connected', level: 30 });
  });
});

describe('telemetry - metrics server', () => {
  it('serves registered metrics in Prometheus text format', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const counter = new Counter({ name: 'kedge_test_total', help: 'a test counter', registers: [registry] });
    counter.inc(3);
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry });
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(text).toContain('kedge_test_total 3');
  });

  it('answers health and readiness with 503 when failing', async () => {
    let healthy = true;
    server = await startMetricsServer({
      host: '127.0.0.1',
      port: 0,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      health: () => ({ ok: healthy, details: { nodes: 2 } }),
    });
    const ok = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', nodes: 2 });
    healthy = false;
    expect((await fetch(`http://127.0.0.1:${server.port}/readyz`)).status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('telemetry - log throttle', () => {
  it('logs once per key and interval and reports what it suppressed', async () => {
    const { LogThrottle } = await import('../src/index');
    let now = 0;
    const throttle = new LogThrottle(1000, () => now);
    const logged: Array<[string, number]> = [];
    for (let i = 0; i < 5; i++) throttle.run('peer-a', (s) => logged.push(['a', s]));
    throttle.run('peer-b', (s) => logged.push(['b', s]));
    now = 1500;
    throttle.run('peer-a', (s) => logged.push(['a', s]));
    expect(logged).toEqual([
      ['a', 0],
      ['b', 0],
      ['a', 4],
    ]);
  });
});


describe('threat - metrics and debug endpoints', () => {
  it('attack - a peer on the network reading /metrics or a debug route is refused, while probes still see health', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    server = await startMetricsServer({ host: '0.0.0.0', port: 0, registry, routes: { '/debug/nodes': () => ['gw-1'] }, allowRemoteField: 'metrics.allowRemote' });
    const remote = `http://${lanAddress()}:${server.port}`;
    const metrics = await fetch(`${remote}/metrics`);
    expect(metrics.status).toBe(403);
    expect(await metrics.text()).toContain('metrics.allowRemote');
    expect((await fetch(`${remote}/debug/nodes`)).status).toBe(403);
    expect((await fetch(`${remote}/healthz`)).status).toBe(200);
    expect((await fetch(`${remote}/readyz`)).status).toBe(200);
    // loopback (inside the pod or on the host) still reads everything, including the refusals
    const local = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
    expect(local).toContain('kedge_metrics_endpoint_refused_total{path="/metrics"} 1');
    expect(local).toContain('kedge_metrics_endpoint_refused_total{path="/debug/nodes"} 1');
  });

  it('allowRemote lets other hosts scrape, as configured for Prometheus', async () => {
    server = await startMetricsServer({ host: '0.0.0.0', port: 0, registry: createMetricsRegistry({ defaultMetrics: false }), allowRemote: true });
    expect((await fetch(`http://${lanAddress()}:${server.port}/metrics`)).status).toBe(200);
  });

  it('knows loopback peers in every form a listener reports them', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(address), address).toBe(true);
    for (const address of ['192.0.2.2', '::ffff:10.0.0.1', 'fe80::1', '', undefined]) expect(isLoopbackAddress(address), String(address)).toBe(false);
  });
});


describe('telemetry - processMemory', () => {
  it("splits this process's VmRSS and V8's heap, and sees a retained buffer and a grown heap", () => {
    const before = processMemory();
    expect(before.kernel!.rss).toBe(before.kernel!.rssAnon + before.kernel!.rssFile + before.kernel!.rssShmem);
    expect(before.kernel!.threads).toBeGreaterThan(1);
    expect(Object.keys(before.v8.spaces)).toEqual(expect.arrayContaining(['new_space', 'old_space', 'code_space', 'large_object_space']));
    expect(before.v8.heapUsed).toBeGreaterThan(0);
    expect(before.v8.heapCommitted).toBeGreaterThanOrEqual(before.v8.heapUsed);
    // 32 MiB outside the heap and a few MB of live objects inside it
    const buffer = Buffer.alloc(32 * 1024 * 1024, 1);
    const objects = Array.from({ length: 100_000 }, (_, i) => ({ i, name: `object-${i}` }));
    const after = processMemory();
    expect(after.v8.external - before.v8.external).toBeGreaterThan(30 * 1024 * 1024);
    expect(after.v8.heapUsed).toBeGreaterThan(before.v8.heapUsed);
    expect(buffer.length + objects.length).toBeGreaterThan(0);
  });
});
