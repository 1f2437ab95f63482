// kedgeadm on a real cloudcore: token + join write config, certificates and unit; edgecore started with
// that config registers; diagnose checks the link and certificate; reset removes every file join wrote.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runKedgeadm, startApp, stopAll, tempDir } from './harness';
import { isNodeConnected, issueToken, startCloudCore, writeTokenFile } from './cluster';

afterEach(stopAll);

const line = (output: string, check: string): string => output.split('\n').find((l) => l.includes(check)) ?? `(no "${check}" line in)\n${output}`;

describe('kedgeadm join / diagnose / reset', () => {
  it('joins a node that then registers, diagnoses it, and resets exactly what it wrote', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-adm']);
    const prefix = tempDir('adm-prefix');
    const dataDir = join(tempDir('adm-data'), 'edgecore');
    const joined = await runKedgeadm([
      'join', '--cloud', '127.0.0.1', '--ws-port', String(cloud.ports.websocket), '--https-port', String(cloud.ports.https),
      '--node-name', 'gw-adm', '--token-file', writeTokenFile(tempDir('adm-token'), token), '--labels', 'site=lab,zone=a', '--prefix', prefix, '--data-dir', dataDir,
      '--runtime-endpoint', `unix://${join(prefix, 'no-containerd.sock')}`,
    ]);
    expect(joined.stderr).toBe('');
    expect(joined.code).toBe(0);
    const record = JSON.parse(readFileSync(join(prefix, '.kedgeadm-written.json'), 'utf8')) as { files: string[] };
    const configFile = join(prefix, 'edgecore.yaml');
    const unitFile = join(prefix, 'systemd', 'edgecore.service');
    expect(record.files).toEqual(expect.arrayContaining([configFile, unitFile, join(dataDir, 'pki', 'ca.crt'), join(dataDir, 'pki', 'node.crt'), join(dataDir, 'pki', 'node.key')]));
    expect(readFileSync(unitFile, 'utf8')).toContain(`--config ${configFile}`);
    const config = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ nodeName: 'gw-adm', dataDir, labels: { site: 'lab', zone: 'a' } });

    // the written config as is, with free local ports so tests can run side by side
    const runConfig = join(tempDir('adm-run'), 'edgecore.yaml');
    writeFileSync(
      runConfig,
      stringify({ ...config, metrics: { address: '127.0.0.1', port: 0 }, metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } }, eventBus: { internal: { address: '127.0.0.1', port: 0 } } }),
    );
    const edge = startApp('edgecore', ['--config', runConfig]); // no --token: join already got the certificate
    await cloud.process.waitForLog(isNodeConnected('gw-adm'), 'the joined node connected');

    const healthy = await runKedgeadm(['diagnose', '--config', configFile]);
    expect(line(healthy.stdout, 'link to cloud (hub)')).toMatch(/^ok /);
    expect(line(healthy.stdout, 'link to cloud (https)')).toMatch(/^ok /);
    expect(line(healthy.stdout, 'TLS to cloud')).toMatch(/^ok /);
    expect(line(healthy.stdout, 'node certificate')).toMatch(/^ok .*gw-adm/);
    expect(line(healthy.stdout, 'clock')).toMatch(/^ok /);
    expect(line(healthy.stdout, 'container runtime')).toMatch(/^fail .*start containerd/);

    await edge.stop('SIGTERM');
    await cloud.process.stop('SIGTERM');
    const down = await runKedgeadm(['diagnose', '--config', configFile]);
    expect(down.code).toBe(1);
    expect(line(down.stdout, 'link to cloud (hub)')).toMatch(/^fail .*ECONNREFUSED.*is cloudcore running/);
    expect(line(down.stdout, 'node certificate')).toMatch(/^ok /);

    const reset = await runKedgeadm(['reset', '--prefix', prefix]);
    expect(reset.code).toBe(0);
    for (const file of record.files) {
      expect(reset.stdout).toContain(`removed ${file}`);
      expect(existsSync(file)).toBe(false);
    }
    expect(existsSync(join(prefix, '.kedgeadm-written.json'))).toBe(false);
    expect((await runKedgeadm(['reset', '--prefix', prefix])).code).toBe(2);
  });

  it('refuses usage errors with exit code 2 and a token for another cluster with a clear message', async () => {
    const missing = await runKedgeadm(['join', '--cloud', '127.0.0.1']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--node-name <name>, --token <token>');
    const unknown = await runKedgeadm(['join', '--bogus']);
    expect(unknown.code).toBe(2);

    const cloud = await startCloudCore();
    const other = await startCloudCore();
    const foreign = await issueToken(other, ['--node', 'gw-x']);
    const prefix = tempDir('adm-foreign');
    const refused = await runKedgeadm(['join', '--cloud', '127.0.0.1', '--https-port', String(cloud.ports.https), '--node-name', 'gw-x', '--token', foreign, '--prefix', prefix, '--data-dir', join(prefix, 'data')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refusing to join');
    expect(existsSync(join(prefix, '.kedgeadm-written.json'))).toBe(false);

    const shortLived = await issueToken(cloud, ['--node', 'gw-y', '--ttl', '1s']);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await runKedgeadm(['join', '--cloud', '127.0.0.1', '--https-port', String(cloud.ports.https), '--node-name', 'gw-y', '--token', '-', '--prefix', prefix, '--data-dir', join(prefix, 'data')], `${shortLived}\n`);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/answered 401: EXPIRED: .*kedgeadm token/);
  });

  it('init writes cloudcore.yaml and the CA, and reset undoes it', async () => {
    const dataDir = join(tempDir('adm-init'), 'cloudcore');
    const init = await runKedgeadm(['init', '--data-dir', dataDir]);
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`cloudcore --config ${join(dataDir, 'cloudcore.yaml')}`);
    expect(existsSync(join(dataDir, 'pki', 'ca.crt'))).toBe(true);
    const token = await runKedgeadm(['token', 'create', '--node', 'gw-1', '--data-dir', dataDir]);
    expect(token.code).toBe(0);
    const reset = await runKedgeadm(['reset', '--prefix', dataDir]);
    expect(reset.code).toBe(0);
    expect(existsSync(join(dataDir, 'cloudcore.yaml'))).toBe(false);
    expect(existsSync(join(dataDir, 'pki', 'ca.key'))).toBe(false);
  });
});
