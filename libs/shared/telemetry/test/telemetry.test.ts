import { PassThrough } from 'node:stream';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry, startMetricsServer, type MetricsServer } from '../src/index';

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
