// The DMI socket's defences: owner-only mode, no listening through a symlink or in a folder others may
// write to that is not ours, a live socket is never taken over, a stale one is replaced.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '@grpc/grpc-js';
import { Cleanup } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { bindUnixSocket, DmiError, socketAnswers } from '../src/index';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-dmi-sock-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function server(): Server {
  const s = new Server();
  cleanup.add(() => new Promise<void>((resolve) => s.tryShutdown(() => resolve())));
  return s;
}

describe('DMI socket', () => {
  it('attack - dmi socket: it is created 0600, never reachable with a wider mode, and removed on stop', async () => {
    const dir = folder();
    const path = join(dir, 'dmi.sock');
    const unlink = await bindUnixSocket(server(), path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(path).isSocket()).toBe(true);
    expect(await socketAnswers(path)).toBe(true);
    unlink();
    expect(() => statSync(path)).toThrow();
  });

  it('attack - dmi socket: a symlink at the socket path is refused, its target untouched', async () => {
    const dir = folder();
    const target = join(dir, 'precious');
    writeFileSync(target, 'keep me');
    symlinkSync(target, join(dir, 'dmi.sock'));
    await expect(bindUnixSocket(server(), join(dir, 'dmi.sock'), { field: 'deviceTwin.dmiSockPath' })).rejects.toThrow(/deviceTwin\.dmiSockPath: .* is a symlink/);
    expect(statSync(target).isFile()).toBe(true);
  });

  it('attack - dmi socket: a folder everyone may write to that is not ours is refused', async () => {
    const dir = folder();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    // root here: hand the folder to nobody (as /tmp belongs to root for a non-root edgecore)
    if (process.getuid?.() === 0) chownSync(shared, 65534, 65534);
    else return void (await expect(bindUnixSocket(server(), join(tmpdir(), 'kedge-dmi-attack.sock'))).rejects.toThrow(DmiError));
    await expect(bindUnixSocket(server(), join(shared, 'dmi.sock'))).rejects.toThrow(/writable by everyone and owned by uid 65534/);
  });

  it('attack - dmi socket: a socket another process listens on is not taken over; a regular file is not replaced', async () => {
    const dir = folder();
    const path = join(dir, 'dmi.sock');
    const other = createServer(() => undefined);
    await new Promise<void>((resolve) => other.listen(path, resolve));
    cleanup.add(() => new Promise<void>((resolve) => other.close(() => resolve())));
    await expect(bindUnixSocket(server(), path)).rejects.toThrow(/in use by another process/);
    const file = join(dir, 'file.sock');
    writeFileSync(file, 'x');
    await expect(bindUnixSocket(server(), file)).rejects.toThrow(/not a socket/);
  });

  it('dmi socket - a stale socket left by a crash is replaced', async () => {
    const dir = folder();
    const path = join(dir, 'dmi.sock');
    const crashed = createServer();
    await new Promise<void>((resolve) => crashed.listen(path, resolve));
    // close without unlinking the file, as a killed process leaves it
    await new Promise<void>((resolve) => crashed.close(() => resolve()));
    writeFileSync(join(dir, 'marker'), '');
    if (!statSync(path, { throwIfNoEntry: false })?.isSocket()) {
      // Node removed it on close; make a stale one from a server that is gone
      const again = createServer();
      await new Promise<void>((resolve) => again.listen(path, resolve));
      (again as unknown as { _handle: { close(): void } })._handle.close();
    }
    expect(await socketAnswers(path)).toBe(false);
    const unlink = await bindUnixSocket(server(), path);
    expect(await socketAnswers(path)).toBe(true);
    unlink();
  });
});
