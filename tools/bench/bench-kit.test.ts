// The benchmark helpers that decide what gets written: percentiles, the windowed driver, and the
// marked-section writer for docs/benchmarks.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  WindowedStream,
  machineInfo,
  percentile,
  sectionHeading,
  summarizeLatencies,
  writeMarkdownSection,
} from './bench-kit';

describe('bench kit', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kedge-bench-kit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('bench kit - percentiles are nearest-rank over sorted values', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(summarizeLatencies([3, 1, 2, 4])).toEqual({ count: 4, p50: 2, p99: 4, max: 4, mean: 2.5 });
  });

  it('bench kit - the windowed stream never has more than the window in flight and counts every delivery', async () => {
    const stream = new WindowedStream(50, 4);
    let inFlight = 0;
    let maxInFlight = 0;
    const result = await stream.run(() => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const sentAt = performance.now();
      setImmediate(() => {
        inFlight -= 1;
        stream.delivered(sentAt);
      });
    });
    expect(maxInFlight).toBe(4);
    expect(result.count).toBe(50);
    expect(result.perSecond).toBeGreaterThan(0);
    expect(result.p99).toBeGreaterThanOrEqual(result.p50);
  });

  it('bench kit - a failed send fails the run', async () => {
    const stream = new WindowedStream(10, 2);
    await expect(stream.run(() => stream.fail(new Error('link down')))).rejects.toThrow('link down');
  });

  it('bench kit - a section is created with an intro, replaced in place, and other text is kept', () => {
    const file = join(dir, 'benchmarks.md');
    writeMarkdownSection(file, 'alpha', 'first alpha', '# Intro\n');
    expect(readFileSync(file, 'utf8')).toBe('# Intro\n\n<!-- alpha:start -->\nfirst alpha\n<!-- alpha:end -->\n');
    writeMarkdownSection(file, 'beta', 'beta body');
    writeMarkdownSection(file, 'alpha', 'second alpha');
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(
      '# Intro\n\n<!-- alpha:start -->\nsecond alpha\n<!-- alpha:end -->\n\n<!-- beta:start -->\nbeta body\n<!-- beta:end -->\n',
    );
  });

  it('bench kit - a file with only one marker is refused rather than rewritten', () => {
    const file = join(dir, 'broken.md');
    writeFileSync(file, '# x\n<!-- alpha:start -->\nleft open\n');
    expect(() => writeMarkdownSection(file, 'alpha', 'body')).toThrow(/only one of the markers/);
    expect(readFileSync(file, 'utf8')).toBe('# x\n<!-- alpha:start -->\nleft open\n');
  });

  it('bench kit - every section heading says the load average the script started under, once', () => {
    const machine = { ...machineInfo(), loadAverage: [1.5, 0.25, 3] as [number, number, number] };
    const lines = sectionHeading('T', machine, 'node x');
    expect(lines).toContain('- Load average when it started: 1.50, 0.25, 3.00 (1, 5, 15 min; other work on the machine competes for the cores)');
    const own = sectionHeading('T', machine, 'node x', ['- Load average when it started: 9.0, 9.0, 9.0']);
    expect(own.filter((line) => line.startsWith('- Load average'))).toEqual(['- Load average when it started: 9.0, 9.0, 9.0']);
    expect(machineInfo().loadAverage).toHaveLength(3);
  });
});
