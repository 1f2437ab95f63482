// The strict Prometheus text reader and the points taken from it: kubelet-format text reads back exactly,
// generated random text and garbage never throw anything but PrometheusTextError, and the rate logic
// keeps two points, ignores repeated measurements and starts over after a counter reset.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PointPair, parsePrometheusText, PrometheusTextError, usagePointsOf, type PrometheusSample } from '../../src/metrics-api';

const KUBELET_TEXT = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 1.506971502 1796668781309
# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes
# TYPE node_memory_working_set_bytes gauge
node_memory_working_set_bytes 1.210245376e+09 1796668781000
scrape_error 0
weird{a="x\\"y\\\\z\\n",b = "2" ,} +Inf
`;

describe('prometheus text - strict reader', () => {
  it('prometheus text - reads kubelet output: names, labels with escapes, values, ms timestamps', () => {
    expect(parsePrometheusText(KUBELET_TEXT)).toEqual([
      { name: 'container_cpu_usage_seconds_total', labels: { container: 'app', namespace: 'default', pod: 'web' }, value: 1.506971502, timestampMs: 1796668781309 },
      { name: 'node_memory_working_set_bytes', labels: {}, value: 1.210245376e9, timestampMs: 1796668781000 },
      { name: 'scrape_error', labels: {}, value: 0 },
      { name: 'weird', labels: { a: 'x"y\\z\n', b: '2' }, value: Infinity },
    ]);
  });

  it.each([
    ['a{b="c', 'unterminated'],
    ['a{b="c"', 'expected "," or "}"'],
    ['a{b=c} 1', 'must be quoted'],
    ['a{b="c",b="d"} 1', 'appears twice'],
    ['a 1 2 3', 'expected "<value> [<timestamp>]"'],
    ['a one', 'is not a number'],
    ['a 1 1.5', 'is not an integer of milliseconds'],
    ['9a 1', 'expected a metric name'],
    ['a{b="\\x"} 1', 'invalid escape'],
    ['a', 'expected "<value> [<timestamp>]"'],
  ])('prometheus text - refuses %j naming the line', (line, problem) => {
    const text = `ok 1\n${line}\n`;
    expect(() => parsePrometheusText(text)).toThrow(PrometheusTextError);
    expect(() => parsePrometheusText(text)).toThrow(new RegExp(`^line 2: .*${problem.replace(/[[\]()"<>]/g, '.')}`));
  });

  it('prometheus text - refuses text over the size limit before reading it', () => {
    expect(() => parsePrometheusText('a 1\n'.repeat(3_000_000))).toThrow(/more than/);
  });

  it('prometheus text - random and garbage input only ever fails with PrometheusTextError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        try {
          const samples = parsePrometheusText(text);
          for (const sample of samples) expect(typeof sample.value).toBe('number');
        } catch (error) {
          expect(error).toBeInstanceOf(PrometheusTextError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('prometheus text - generated samples written in the format read back unchanged', () => {
    const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,20}$/);
    const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,10}$/);
    const sample = fc.record({
      name,
      labels: fc.dictionary(labelName, fc.string({ maxLength: 20 }), { maxKeys: 4 }),
      value: fc.double({ noNaN: true }),
      timestampMs: fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: undefined }),
    });
    const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const format = (value: number) => (value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value));
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 20 }), (samples) => {
        const text = samples
          .map((s) => {
            const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escape(v)}"`);
            return `${s.name}${labels.length ? `{${labels.join(',')}}` : ''} ${format(s.value)}${s.timestampMs === undefined ? '' : ` ${s.timestampMs}`}`;
          })
          .join('\n');
        const expected: PrometheusSample[] = samples.map((s) => ({ name: s.name, labels: { ...s.labels }, value: Object.is(s.value, -0) ? 0 : s.value, ...(s.timestampMs === undefined ? {} : { timestampMs: s.timestampMs }) }));
        expect(parsePrometheusText(text)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});

describe('usage points - the last two per series', () => {
  it('usage points - node and containers need both CPU and memory, labels and usable values', () => {
    const scrape = usagePointsOf(
      parsePrometheusText(
        [
          'node_cpu_usage_seconds_total 10 1000',
          'node_memory_working_set_bytes 2048 1000',
          'container_cpu_usage_seconds_total{container="a",namespace="ns",pod="p"} 1 1000',
          'container_memory_working_set_bytes{container="a",namespace="ns",pod="p"} 512 1000',
          'container_cpu_usage_seconds_total{container="lonely",namespace="ns",pod="p"} 1 1000',
          'container_cpu_usage_seconds_total{namespace="ns",pod="p"} 1 1000',
          'container_cpu_usage_seconds_total{container="neg",namespace="ns",pod="p"} -1 1000',
          'container_memory_working_set_bytes{container="neg",namespace="ns",pod="p"} 1 1000',
        ].join('\n'),
      ),
      5000,
    );
    expect(scrape.node).toEqual({ cpuSeconds: 10, memoryBytes: 2048, timestampMs: 1000 });
    expect([...(scrape.pods.get('ns/p') ?? new Map()).keys()]).toEqual(['a']);
  });

  it('usage points - a rate needs two points; a repeated measurement changes nothing; a reset starts over', () => {
    const pair = new PointPair({ cpuSeconds: 10, memoryBytes: 1, timestampMs: 1000 });
    expect(pair.rate()).toBeUndefined();
    pair.add({ cpuSeconds: 12, memoryBytes: 2, timestampMs: 3000 });
    expect(pair.rate()).toEqual({ cpuNanoCores: 1_000_000_000, memoryBytes: 2, timestampMs: 3000, windowMs: 2000 });
    pair.add({ cpuSeconds: 99, memoryBytes: 3, timestampMs: 3000 });
    expect(pair.rate()?.cpuNanoCores).toBe(1_000_000_000);
    pair.add({ cpuSeconds: 1, memoryBytes: 4, timestampMs: 4000 });
    expect(pair.rate()).toBeUndefined();
  });
});
