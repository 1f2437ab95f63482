// Runs the raw baseline of the edge-scale benchmark: the same dialers hold the same number of mTLS
// WebSocket connections at a bare https + ws server process (raw-server.ts), measured the same way.
import { fork } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadOrCreateAuthority } from '@kedge/pki';
import { benchTempDir, formatBytes, formatInteger, progress, residentBytes, sleep } from '../bench-kit';
import { DialerPool } from './dialer-pool';

export interface RawMemory {
  rss: number;
  heapUsed: number;
  external: number;
}

export interface RawBaselineResult {
  connections: number;
  before: RawMemory;
  after: RawMemory;
  acceptSeconds: number;
  acceptCpuMs: number;
  cpuPercent: number;
  openFilesBefore: number;
  openFilesAfter: number;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function runRawBaseline(count: number, dialers: number, idleSeconds: number): Promise<RawBaselineResult> {
  progress(`raw baseline: a bare https + ws server process for ${formatInteger(count)} connections`);
  const pkiDir = join(benchTempDir('kedge-bench-scale-raw-'), 'pki');
  await loadOrCreateAuthority(pkiDir);
  const child = fork(join(import.meta.dirname, 'raw-server.ts'), [pkiDir], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid!;
  const nextMessage = <T>(key: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>): void => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        resolve(message[key] as T);
      };
      child.on('message', onMessage);
      void exited.then(() => reject(new Error('the raw baseline server exited')));
    });
  const memory = async (): Promise<RawMemory> => {
    // settle as for cloudcore: RSS stops moving by more than 1 % a second
    let previous = residentBytes(pid);
    for (let i = 0; i < 20; i++) {
      await sleep(1_000);
      const current = residentBytes(pid);
      if (i >= 3 && Math.abs(current - previous) < previous * 0.01) break;
      previous = current;
    }
    const reply = nextMessage<NodeJS.MemoryUsage>('memory');
    child.send({ type: 'memory' });
    const usage = await reply;
    return { rss: residentBytes(pid), heapUsed: usage.heapUsed, external: usage.external };
  };
  const pool = new DialerPool(Array.from({ length: count }, (_, i) => `raw-${String(i).padStart(5, '0')}`), dialers);
  try {
    const port = await nextMessage<number>('port');
    await pool.init(`wss://127.0.0.1:${port}`, pkiDir, { keepaliveMs: 15_000, recordMessages: false, raw: true });
    const before = await memory();
    const openFilesBefore = readdirSync(`/proc/${pid}/fd`).length;
    const started = performance.now();
    const acceptCpuStart = cpuSeconds(pid);
    await pool.connect(16);
    const acceptSeconds = (performance.now() - started) / 1000;
    const acceptCpuMs = ((cpuSeconds(pid) - acceptCpuStart) * 1000) / count;
    await sleep(15_000);
    const cpuStart = cpuSeconds(pid);
    const cpuStartedAt = performance.now();
    await sleep(idleSeconds * 1000);
    const cpuPercent = ((cpuSeconds(pid) - cpuStart) / ((performance.now() - cpuStartedAt) / 1000)) * 100;
    const after = await memory();
    const status = await pool.status();
    if (status.connected !== count) throw new Error(`raw baseline: ${status.connected}/${count} connections open at the end`);
    progress(`  raw: RSS ${formatBytes(before.rss)} → ${formatBytes(after.rss)} (${formatBytes((after.rss - before.rss) / count)} per connection); idle CPU ${cpuPercent.toFixed(1)} %`);
    return { connections: count, before, after, acceptSeconds, acceptCpuMs, cpuPercent, openFilesBefore, openFilesAfter: readdirSync(`/proc/${pid}/fd`).length };
  } finally {
    await pool.stop();
    child.kill('SIGTERM');
    await exited;
  }
}
