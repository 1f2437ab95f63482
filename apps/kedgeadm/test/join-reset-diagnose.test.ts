import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkClock, checkDisk, splitHostPort } from '../src/diagnose-checks';
import { readEdgeSettings } from '../src/diagnose-command';
import { parseLabels } from '../src/join-command';
import { resetCommand } from '../src/reset-command';
import { KedgeadmUsageError } from '../src/token-command';
import { WrittenFiles } from '../src/written-files';

describe('join helpers', () => {
  it('parses --labels and rejects pairs without "="', () => {
    expect(parseLabels('site=plant-7, zone=a')).toEqual({ site: 'plant-7', zone: 'a' });
    expect(parseLabels(undefined)).toEqual({});
    expect(() => parseLabels('site')).toThrow(KedgeadmUsageError);
  });
});

describe('reset', () => {
  it('removes exactly the recorded files and the directories it created when empty', async () => {
    const prefix = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    const foreign = join(prefix, 'keep.txt');
    writeFileSync(foreign, 'not ours');
    const written = new WrittenFiles(prefix, 'join');
    written.write(join(prefix, 'a', 'b', 'one.yaml'), 'x');
    written.write(join(prefix, 'two.yaml'), 'y');
    mkdirSync(join(prefix, 'a', 'other'));
    const result = await resetCommand({ prefix });
    expect(result.removed).toEqual(expect.arrayContaining([join(prefix, 'a', 'b', 'one.yaml'), join(prefix, 'two.yaml'), `${join(prefix, 'a', 'b')}/`]));
    expect(existsSync(foreign)).toBe(true);
    expect(existsSync(join(prefix, 'a', 'other'))).toBe(true); // not empty: a/ stays
    await expect(resetCommand({ prefix })).rejects.toThrow(/nothing to reset/);
  });
});

describe('diagnose', () => {
  it('reads edgecore.yaml with edgecore defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedgeadm-unit-'));
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, 'nodeName: gw-1\nedgeHub: {server: "10.0.0.5:10000"}\n');
    expect(readEdgeSettings(file)).toMatchObject({ nodeName: 'gw-1', server: '10.0.0.5:10000', httpServer: 'https://127.0.0.1:10002', mqtt: { port: 1883 } });
    expect(() => readEdgeSettings(join(dir, 'missing.yaml'))).toThrow(/kedgeadm join/);
  });

  it('judges clock skew, host:port and disk space', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(checkClock(new Date('2026-01-01T00:00:02Z'), now).status).toBe('ok');
    expect(checkClock(new Date('2026-01-01T00:01:00Z'), now)).toMatchObject({ status: 'warn', detail: expect.stringContaining('behind') });
    expect(checkClock(new Date('2025-12-31T23:00:00Z'), now).status).toBe('fail');
    expect(checkClock(undefined).status).toBe('warn');
    expect(splitHostPort('[::1]:10000')).toEqual({ host: '::1', port: 10000 });
    expect(checkDisk(join(tmpdir(), 'does', 'not', 'exist')).status).not.toBe('fail');
  });
});
