import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Outbound, exitFromStatus, parseCriLogLine, streamCriLog } from '../src/index';

const LOG = ['2026-01-01T00:00:00.1Z stdout F one', '2026-01-01T00:00:00.2Z stderr P par', '2026-01-01T00:00:00.3Z stderr F tial', '2026-01-01T00:00:00.4Z stdout F three', ''].join('\n');

async function read(options: Parameters<typeof streamCriLog>[3]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'edgestream-'));
  try {
    const path = join(dir, '0.log');
    await writeFile(path, LOG);
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
