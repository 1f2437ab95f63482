// A real mosquitto (Debian package) for tests: its own config on a free loopback port, anonymous,
// no persistence, stopped by pid through the test's Cleanup.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup';
import { waitFor } from './wait-for';

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface Mosquitto {
  port: number;
  url: string;
  pid: number;
  /** stops it (SIGTERM by pid) and waits for the exit; also done by cleanup */
  stop(): Promise<void>;
}

/** A real mosquitto on 127.0.0.1:<port> with its own config (anonymous, no persistence, stays root). */
export async function startMosquitto(cleanup: Cleanup, port?: number): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-mosquitto-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  const listenPort = port ?? (await freePort());
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [`listener ${listenPort} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'user root', 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  const child = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('mosquitto did not start (is the Debian package installed? bash tools/install-system-deps.sh)');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    await exited;
  };
  cleanup.add(stop);
  await waitFor(() => portOpen(listenPort), `mosquitto listening on 127.0.0.1:${listenPort}`, {
    timeoutMs: 15_000,
    onTimeout: () => `mosquitto stderr: ${stderr}`,
  });
  return { port: listenPort, url: `mqtt://127.0.0.1:${listenPort}`, pid, stop };
}
