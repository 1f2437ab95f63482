// The gateway bundle of edgecore as the tarball and the gateway bundle build it (split, compact): what a gateway
// reads and holds at start-up is only the entry file and the chunks it imports statically; each feature the
// config may leave off is a chunk read on demand. The launcher runs it with the small-device Node.js options.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_HELPER_ENTRIES, bundleApp } from './bundle';
import { LAUNCHER } from './edgecore-tarball';
import { launcher } from './gateway-bundle';
import { EDGECORE_NODE_OPTIONS } from './node-options';

let dir: string;
let metafile: Metafile;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-bundle-'));
  metafile = await bundleApp('apps/edgecore/src/main.ts', join(dir, 'lib', 'edgecore.mjs'), { splitting: true, compact: true, helpers: APP_HELPER_ENTRIES.edgecore });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The output files `entry` loads at start-up: itself and every chunk it imports statically, transitively (with `dynamic`, also what it may import()). */
function eagerOutputs(entry: string, dynamic = false): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const i of metafile.outputs[file]?.imports ?? []) if ((i.kind === 'import-statement' || (dynamic && i.kind === 'dynamic-import')) && metafile.outputs[i.path]) queue.push(i.path);
  }
  return seen;
}

/** esbuild names inputs relative to the working directory (the repo root, or tools/ under nx): made repo-relative */
const inputsOf = (outputs: Iterable<string>): string[] =>
  [...outputs].flatMap((file) => Object.keys(metafile.outputs[file]!.inputs).map((input) => input.replace(/^(\.\.\/)+/, '')));

describe('gateway bundle - edgecore', () => {
  it('loads at start-up none of the code of pods, streams, MetaServer, devices, mqtt.js, modbus or OPC UA', () => {
    const entry = Object.keys(metafile.outputs).find((file) => file.endsWith('lib/edgecore.mjs'))!;
    expect(entry).toBeDefined();
    const eager = inputsOf(eagerOutputs(entry));
    expect(eager).toContain('apps/edgecore/src/edgecore.ts');
    const lazy = ['apps/edgecore/src/pods.ts', 'apps/edgecore/src/streams.ts', 'apps/edgecore/src/metaserver.ts', 'apps/edgecore/src/devices.ts', 'libs/edge/edgestream/', 'libs/edge/devicetwin/', 'libs/edge/mappers/', 'libs/edge/eventbus/src/external-client.ts', 'node_modules/mqtt/', 'node-opcua'];
    for (const part of lazy) expect(eager.filter((input) => input.includes(part)), part).toEqual([]);
    // and each of them is in the bundle, in a chunk of its own
    for (const part of lazy) expect(inputsOf(Object.keys(metafile.outputs)).some((input) => input.includes(part)), part).toBe(true);
    // modbus-serial is not bundled (native), and no eager chunk imports it
    for (const file of eagerOutputs(entry)) expect(metafile.outputs[file]!.imports.filter((i) => i.path === 'modbus-serial' && i.kind === 'import-statement')).toEqual([]);
  });

  it('loads @peculiar/x509 (and its Reflect polyfill) only to make a CSR or issue, not to check its certificate at start-up', () => {
    const entry = Object.keys(metafile.outputs).find((file) => file.endsWith('lib/edgecore.mjs'))!;
    const parts = ['node_modules/@peculiar/', 'node_modules/reflect-metadata/', 'node_modules/tsyringe/'];
    const eager = inputsOf(eagerOutputs(entry));
    for (const part of parts) expect(eager.filter((input) => input.includes(part)), part).toEqual([]);
    for (const file of eagerOutputs(entry)) {
      expect(metafile.outputs[file]!.imports.filter((i) => i.kind === 'import-statement' && /^(@peculiar\/|reflect-metadata|tsyringe)/.test(i.path))).toEqual([]);
    }
    // still in the bundle, read on demand
    expect(inputsOf(Object.keys(metafile.outputs)).some((input) => input.includes('node_modules/@peculiar/x509/'))).toBe(true);
  });

  it('leaves the config parser to the start-up helper: zod, yaml, the schema and aedes are not on the daemon\'s start-up chunks', () => {
    const entry = Object.keys(metafile.outputs).find((file) => file.endsWith('lib/edgecore.mjs'))!;
    const eager = inputsOf(eagerOutputs(entry));
    // the schema's lib imports @kedge/eventbus (topic checks), which imported aedes and mqtt-packet with it
    const parts = ['node_modules/zod/', 'node_modules/yaml/', 'libs/edge/edgecore-config/src/edgecore-config.ts', 'libs/shared/config/', 'node_modules/aedes', 'node_modules/mqtt-packet/', 'libs/edge/eventbus/'];
    for (const part of parts) expect(eager.filter((input) => input.includes(part)), part).toEqual([]);
    // nor on a feature's: pods and streams read the runtime socket through the light entry
    for (const feature of ['pods', 'streams', 'metaserver']) {
      const chunk = Object.keys(metafile.outputs).find((file) => new RegExp(`lib/edgecore-${feature}-[^/]*\\.mjs$`).test(file))!;
      expect(chunk, feature).toBeDefined();
      const loaded = inputsOf(eagerOutputs(chunk));
      expect(loaded.filter((input) => input.includes('node_modules/zod/')), feature).toEqual([]);
    }
    // the helper has them (each task imports what it needs), as its own entry beside the daemon's
    const helper = Object.keys(metafile.outputs).find((file) => file.endsWith('lib/edgecore-helper.mjs'))!;
    expect(helper).toBeDefined();
    for (const part of ['node_modules/zod/', 'node_modules/yaml/', 'node_modules/@peculiar/x509/']) {
      expect(inputsOf(eagerOutputs(helper, true)).some((input) => input.includes(part)), part).toBe(true);
    }
  });

  it('is pure ASCII, so Node.js holds each module source as a one-byte string', () => {
    const files = readdirSync(join(dir, 'lib')).filter((file) => file.endsWith('.mjs'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(join(dir, 'lib', file), 'latin1');
      // eslint-disable-next-line no-control-regex
      expect(/[^\x00-\x7f]/.exec(text)?.index, file).toBeUndefined();
    }
  });
});

describe('gateway bundle - edgecore launcher', () => {
  /** runs a launcher with a stand-in "node" that prints its arguments and UV_THREADPOOL_SIZE */
  function runLauncher(script: string, env: Record<string, string>): string[] {
    const root = mkdtempSync(join(dir, 'launcher-'));
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'node', 'bin'), { recursive: true });
    writeFileSync(join(root, 'bin', 'edgecore'), script, { mode: 0o755 });
    const fakeNode = join(root, 'node', 'bin', 'node');
    writeFileSync(fakeNode, '#!/bin/sh\necho "UV_THREADPOOL_SIZE=$UV_THREADPOOL_SIZE"\nfor a in "$@"; do echo "$a"; done\n');
    chmodSync(fakeNode, 0o755);
    const out = execFileSync(join(root, 'bin', 'edgecore'), ['--config', '/etc/kedge/edgecore.yaml'], { env: { PATH: process.env.PATH ?? '', NODE: fakeNode, ...env }, encoding: 'utf8' });
    return out.trim().split('\n').map((line) => line.replace(root, '<root>'));
  }

  for (const [name, script] of [
    ['tarball', LAUNCHER],
    ['gateway bundle', launcher('edgecore')],
  ] as const) {
    it(`${name}: runs node with the small-device options; KEDGE_NODE_OPTIONS replaces them, empty means none`, () => {
      expect(runLauncher(script, {})).toEqual(['UV_THREADPOOL_SIZE=4', ...EDGECORE_NODE_OPTIONS, '<root>/lib/edgecore.mjs', '--config', '/etc/kedge/edgecore.yaml']);
      expect(runLauncher(script, { KEDGE_NODE_OPTIONS: '--max-old-space-size=96 --jitless', UV_THREADPOOL_SIZE: '2' })).toEqual([
        'UV_THREADPOOL_SIZE=2',
        '--max-old-space-size=96',
        '--jitless',
        '<root>/lib/edgecore.mjs',
        '--config',
        '/etc/kedge/edgecore.yaml',
      ]);
      expect(runLauncher(script, { KEDGE_NODE_OPTIONS: '' })).toEqual(['UV_THREADPOOL_SIZE=4', '<root>/lib/edgecore.mjs', '--config', '/etc/kedge/edgecore.yaml']);
    });
  }

  it("the options keep WebAssembly, so Node's fetch() (undici's WebAssembly HTTP parser) works, e.g. a mapper's HTTP push", () => {
    const probe = [
      "const server = require('node:http').createServer((request, response) => response.end('answered'));",
      "server.listen(0, '127.0.0.1', async () => {",
      "  const response = await fetch(`http://127.0.0.1:${server.address().port}/`);",
      '  console.log(await response.text());',
      '  server.close();',
      '});',
    ].join('\n');
    expect(execFileSync(process.execPath, [...EDGECORE_NODE_OPTIONS, '-e', probe], { encoding: 'utf8' }).trim()).toBe('answered');
    // what it guards against: --lite-mode (as --jitless) leaves no WebAssembly and fetch() throws
    expect(() => execFileSync(process.execPath, ['--lite-mode', '-e', probe], { encoding: 'utf8', stdio: 'pipe' })).toThrow(/WebAssembly is not defined/);
  });

  it('kedgeadm keeps Node.js defaults', () => {
    expect(launcher('kedgeadm')).not.toContain('KEDGE_NODE_OPTIONS');
  });
});
