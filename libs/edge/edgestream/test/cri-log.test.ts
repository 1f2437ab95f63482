import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbound, exitFromStatus, linesSince, logSinceMs, parseCriLogLine, parseOpenRequest, StreamFailure, streamCriLog } from '../src/index';

const LOG = ['2026-01-01T00:00:00.1Z stdout F one', '2026-01-01T00:00:00.2Z stderr P par', '2026-01-01T00:00:00.3Z stderr F tial', '2026-01-01T00:00:00.4Z stdout F three', ''].join('\n');

async function read(options: Parameters<typeof streamCriLog>[3], log = LOG): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgestream-'));
  try {
    const path = join(dir, '0.log');
    await writeFile(path, log);
    let out = '';
    const cri = { containerStatus: async () => ({ state: 'CONTAINER_EXITED' }) } as never;
    await streamCriLog(cri, 'c1', path, options, { write: async (t) => void (out += t), cancelled: () => false });
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('edgestream - cri logs', () => {
  it('cri log - parses full and partial lines', () => {
    expect(parseCriLogLine('2026-01-01T00:00:00Z stdout F hi there')).toEqual({ timestamp: '2026-01-01T00:00:00Z', stream: 'stdout', complete: true, message: 'hi there' });
    expect(parseCriLogLine('garbage')).toBeUndefined();
  });

  it('cri log - joins partial lines and honours tail, timestamps and limitBytes', async () => {
    expect(await read({ follow: false, previous: false, timestamps: false })).toBe('one\npartial\nthree\n');
    expect(await read({ follow: false, previous: false, timestamps: false, tailLines: 1 })).toBe('three\n');
    expect(await read({ follow: false, previous: false, timestamps: true, tailLines: 1 })).toBe('2026-01-01T00:00:00.4Z three\n');
    expect(await read({ follow: false, previous: false, timestamps: false, limitBytes: 5 })).toBe('one\np');
  });

  it('cri log - since: lines stamped before sinceTime go, to the millisecond (nanosecond stamps and offsets read)', () => {
    const lines = [
      '2026-01-01T00:00:00.999999999Z stdout F before',
      '2026-01-01T00:00:01.000000001Z stdout F same millisecond',
      '2026-01-01T02:00:02+02:00 stderr F later, in another zone',
      'garbage without a time',
    ];
    const since = logSinceMs({ sinceTime: '2026-01-01T00:00:01Z' }, 0);
    expect(linesSince(lines, since).map((line) => parseCriLogLine(line)?.message)).toEqual(['same millisecond', 'later, in another zone']);
    expect(linesSince(lines, undefined)).toBe(lines);
    // sinceSeconds counts back from this node's clock
    expect(logSinceMs({ sinceSeconds: 5 }, Date.parse('2026-01-01T00:00:06Z'))).toBe(Date.parse('2026-01-01T00:00:01Z'));
    expect(logSinceMs({}, 0)).toBeUndefined();
  });

  it('cri log - since, then tail (the last N of the recent lines), then limitBytes', async () => {
    expect(await read({ follow: false, previous: false, timestamps: false, sinceTime: '2026-01-01T00:00:00.2Z' })).toBe('partial\nthree\n');
    expect(await read({ follow: false, previous: false, timestamps: false, sinceTime: '2026-01-01T00:00:00.25Z', tailLines: 5 })).toBe('tial\nthree\n');
    expect(await read({ follow: false, previous: false, timestamps: true, sinceTime: '2026-01-01T00:00:00.1Z', tailLines: 1 })).toBe('2026-01-01T00:00:00.4Z three\n');
    expect(await read({ follow: false, previous: false, timestamps: false, sinceTime: '2026-01-01T00:00:01Z' })).toBe('');
    expect(await read({ follow: false, previous: false, timestamps: false, sinceTime: '2026-01-01T00:00:00.2Z', limitBytes: 4 })).toBe('part');
    // sinceSeconds against this machine's clock: two minutes ago is out, a second ago is in; with follow too
    const stamp = (agoMs: number): string => new Date(Date.now() - agoMs).toISOString();
    const log = [`${stamp(120_000)} stdout F old`, `${stamp(1_000)} stdout F new`, `${stamp(500)} stdout F newer`, ''].join('\n');
    expect(await read({ follow: false, previous: false, timestamps: false, sinceSeconds: 60 }, log)).toBe('new\nnewer\n');
    expect(await read({ follow: true, previous: false, timestamps: false, sinceSeconds: 60, tailLines: 1 }, log)).toBe('newer\n');
  });

  it('open - log options from the wire are checked, naming the option', () => {
    const open = (options: Record<string, unknown>) => parseOpenRequest('plant/pod/meter', { id: 's1', kind: 'log', container: 'app', options });
    expect(open({ follow: true, sinceSeconds: 30, tailLines: 2 }).options).toEqual({ follow: true, previous: false, timestamps: false, sinceSeconds: 30, tailLines: 2 });
    expect(open({ sinceTime: '2026-01-01T00:00:00Z' }).options).toMatchObject({ sinceTime: '2026-01-01T00:00:00Z' });
    for (const [options, message] of [
      [{ sinceSeconds: 0 }, 'log option "sinceSeconds" must be an integer of at least 1'],
      [{ sinceSeconds: '30' }, 'log option "sinceSeconds"'],
      [{ sinceTime: 'yesterday' }, 'log option "sinceTime" must be an RFC 3339 time'],
      [{ sinceTime: '2026-01-01T00:00:00Z', sinceSeconds: 5 }, 'at most one of log options "sinceSeconds" and "sinceTime"'],
      [{ tailLines: -1 }, 'log option "tailLines"'],
      [{ follow: 'yes' }, 'log option "follow" must be a boolean'],
    ] as const) {
      let error: unknown;
      try {
        open(options);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(StreamFailure);
      expect(error).toMatchObject({ code: 400, message: expect.stringContaining(message) });
    }
  });

  it('cri log - follow ends when the container is no longer running', async () => {
    expect(await read({ follow: true, previous: false, timestamps: false })).toBe('one\npartial\nthree\n');
  });
});

describe('edgestream - exec status and flow control', () => {
  it('exec status - reads the exit code kubectl reads', () => {
    expect(exitFromStatus('{"status":"Success"}')).toEqual({ exitCode: 0 });
    expect(exitFromStatus('{"status":"Failure","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}')).toEqual({ exitCode: 3 });
    expect(exitFromStatus('{"status":"Failure","message":"boom"}')).toEqual({ exitCode: undefined, reason: 'boom' });
  });

  it('outbound - waits for acks once the window is full', async () => {
    const sent: number[] = [];
    const outbound = new Outbound(4, async (_channel, data) => void sent.push(data.length));
    await outbound.write(1, Buffer.from('abcd'));
    let second = false;
    const pending = outbound.write(1, Buffer.from('ef')).then(() => (second = true));
    await new Promise((r) => setImmediate(r));
    expect(second).toBe(false);
    outbound.ack(4);
    await pending;
    expect(sent).toEqual([4, 2]);
  });
});
