// The command lines teach and refuse bad input with messages that name the file, the field or the flag.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, runKedgeadm, tempDir, writeYaml } from './harness';

function run(app: 'cloudcore' | 'edgecore', args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps', app, 'src', 'main.ts'), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('cli - help', () => {
  it.each(['cloudcore', 'edgecore'] as const)('%s --help explains itself with examples', async (app) => {
    const { code, stdout } = await run(app, ['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('--config');
  });

  it('kedgeadm token --help lists create, list and delete; token create --help explains the flags', async () => {
    const token = await runKedgeadm(['token', '--help']);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/create.*\n(.|\n)*list(.|\n)*delete/);
    const { code, stdout } = await runKedgeadm(['token', 'create', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--ttl/);
    expect(stdout).toMatch(/--node /);
    expect(stdout).toMatch(/--node-pattern/);
    expect(stdout).toMatch(/--count/);
  });
});

describe('cli - bad input', () => {
  it('cloudcore refuses a config with a wrong type, naming the file and the field', async () => {
    const file = writeYaml(join(tempDir('cli'), 'cloudcore.yaml'), { cloudHub: { websocket: { port: 'ten thousand' } } });
    const { code, stderr } = await run('cloudcore', ['--config', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(file);
    expect(stderr).toContain('field "cloudHub.websocket.port"');
  });

  it('cloudcore refuses an unknown field and a bad --log-level', async () => {
    const file = writeYaml(join(tempDir('cli'), 'cloudcore.yaml'), { cloudhub: {} });
    const unknown = await run('cloudcore', ['--config', file]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"cloudhub"');
    const level = await run('cloudcore', ['--log-level', 'loud', '--data-dir', tempDir('cli')]);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('field "log.level"');
  });

  it('edgecore without --config or with an invalid node name says what to do', async () => {
    const missing = await run('edgecore', []);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--config');
    const file = writeYaml(join(tempDir('cli'), 'edgecore.yaml'), { nodeName: 'Gateway_01' });
    const bad = await run('edgecore', ['--config', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('field "nodeName"');
  });

  it('edgecore with no certificate and no token says to run kedgeadm token', async () => {
    const dir = tempDir('cli');
    const file = writeYaml(join(dir, 'edgecore.yaml'), { nodeName: 'gw-1', dataDir: dir, metrics: { enable: false } });
    const { code, stdout } = await run('edgecore', ['--config', file]);
    expect(code).toBe(1);
    expect(stdout).toContain('kedgeadm token');
  });

  it('kedgeadm token refuses a bad --ttl, a data dir without a CA and a token bound to nothing', async () => {
    const ttl = await runKedgeadm(['token', '--ttl', 'forever', '--data-dir', tempDir('cli')]);
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain('--ttl');
    const noCa = await runKedgeadm(['token', 'create', '--node', 'gw-1', '--data-dir', tempDir('cli')]);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toMatch(/start cloudcore/);
    const unbound = await runKedgeadm(['token', '--data-dir', tempDir('cli')]);
    expect(unbound.code).toBe(2);
    expect(unbound.stderr).toMatch(/must be bound: --node <name>/);
  });

  it('the default configs print as YAML', async () => {
    for (const app of ['cloudcore', 'edgecore'] as const) {
      const { code, stdout } = await run(app, ['--print-default-config']);
      expect(code).toBe(0);
      expect(stdout).toMatch(app === 'cloudcore' ? /cloudHub:/ : /edgeHub:/);
    }
  });
});
