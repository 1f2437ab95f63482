// Threat: another user on the gateway or the cloud host (a service account, a compromised app, a
// shell user) reads what the daemons keep on disk: the edge database holds every Secret synced to
// the node, and the key files are the node's, the cluster CA's and the embedded API server's
// identities. Every daemon keeps its data and PKI directories 0700 and its databases and keys 0600,
// also over directories and files an older version (or an admin under a 022 umask) left open.
import { chmodSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runKedgeadm, stopAll, tempDir, type KedgeProcess } from '../e2e/harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore } from '../e2e/cluster';

afterEach(stopAll);

const modeOf = (path: string): string => `0${(statSync(path).mode & 0o777).toString(8)}`;

/** Every directory 0700 and every file 0600; all directories and the `required` files must exist. */
function expectPrivate(directories: string[], files: string[], required: string[]): void {
  for (const path of required) expect(existsSync(path), `${path} exists`).toBe(true);
  const found = Object.fromEntries([...directories, ...files.filter((file) => existsSync(file))].map((path) => [path, modeOf(path)]));
  const expected = Object.fromEntries([...directories.map((d) => [d, '0700']), ...files.filter((file) => existsSync(file)).map((f) => [f, '0600'])]);
  expect(found).toEqual(expected);
}

/** What an older version, or an admin with umask 022, left behind. */
function openUp(directories: string[], files: string[]): void {
  for (const dir of directories) chmodSync(dir, 0o755);
  for (const file of files) if (existsSync(file)) chmodSync(file, 0o644);
}

const withSqliteCompanions = (files: string[]): string[] => files.flatMap((file) => (file.endsWith('.db') ? [file, `${file}-wal`, `${file}-shm`] : [file]));

function expectNarrowingLogged(process: KedgeProcess, path: string): void {
  expect(process.logs.some((l) => l.msg.startsWith('narrowed the mode of') && l.path === path && l.from === '0755' && l.to === '0700'), process.describe()).toBe(true);
}

describe('threat - files on disk', () => {
  it('attack - another local user reading cloudcore\'s CA key, API server credentials or database is refused', async () => {
    const dataDir = tempDir('modes-cloud');
    chmodSync(dataDir, 0o755); // made by a package or by hand before the first start
    const api = join(dataDir, 'apiserver');
    const directories = [dataDir, join(dataDir, 'pki'), api, join(api, 'pki')];
    const files = withSqliteCompanions([
      join(dataDir, 'pki', 'ca.key'), join(dataDir, 'pki', 'server.key'), join(dataDir, 'pki', 'join-tokens.json'),
      join(api, 'apiserver.db'), join(api, 'admin-token'), join(api, 'service-account.key'), join(api, 'admin.kubeconfig'),
      join(api, 'pki', 'ca.key'), join(api, 'pki', 'server.key'),
    ]);
    const required = [join(dataDir, 'pki', 'ca.key'), join(api, 'apiserver.db'), join(api, 'admin-token'), join(api, 'service-account.key'), join(api, 'admin.kubeconfig')];

    const first = await startCloudCore({ dataDir });
    expectPrivate(directories, files, required);
    expectNarrowingLogged(first.process, dataDir);
    await first.process.stop('SIGTERM');

    openUp(directories, files);
    const again = await startCloudCore({ dataDir });
    expectPrivate(directories, files, required);
    expectNarrowingLogged(again.process, join(api, 'pki'));
  });

  it('attack - another local user reading the edge database (every synced Secret) or the node key is refused', async () => {
    const cloud = await startCloudCore();
    const dataDir = tempDir('modes-edge');
    chmodSync(dataDir, 0o755);
    const directories = [dataDir, join(dataDir, 'pki')];
    const files = withSqliteCompanions([join(dataDir, 'edgecore.db'), join(dataDir, 'devicetwin.db'), join(dataDir, 'pki', 'node.key'), join(dataDir, 'mappers.json')]);
    const required = [join(dataDir, 'edgecore.db'), join(dataDir, 'devicetwin.db'), join(dataDir, 'pki', 'node.key')];

    const first = startEdgeCore(cloud, { nodeName: 'gw-modes', dataDir, token: await issueToken(cloud, ['--node', 'gw-modes']) });
    await cloud.process.waitForLog(isNodeConnected('gw-modes'), 'gw-modes connected');
    expectPrivate(directories, files, required);
    expectNarrowingLogged(first.process, dataDir);
    await first.process.stop('SIGTERM');

    openUp(directories, files);
    const again = startEdgeCore(cloud, { nodeName: 'gw-modes', dataDir });
    await again.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready after the restart');
    expectPrivate(directories, files, required);
    expectNarrowingLogged(again.process, join(dataDir, 'pki'));
  });

  it('attack - another local user reading what kedgeadm init and join wrote (CA key, node key) is refused', async () => {
    const cloudDir = tempDir('modes-init');
    chmodSync(cloudDir, 0o755);
    const init = await runKedgeadm(['init', '--data-dir', cloudDir, '--advertise-address', '127.0.0.1']);
    expect(init.code, init.stderr).toBe(0);
    expectPrivate([cloudDir, join(cloudDir, 'pki')], [join(cloudDir, 'pki', 'ca.key')], [join(cloudDir, 'pki', 'ca.key')]);

    const cloud = await startCloudCore();
    const prefix = tempDir('modes-join');
    const edgeDir = join(tempDir('modes-join-data'), 'edgecore');
    const joined = await runKedgeadm([
      'join', '--cloud', '127.0.0.1', '--https-port', String(cloud.ports.https), '--ws-port', String(cloud.ports.websocket),
      '--node-name', 'gw-modes-adm', '--token', await issueToken(cloud, ['--node', 'gw-modes-adm']), '--prefix', prefix, '--data-dir', edgeDir,
    ]);
    expect(joined.code, joined.stderr).toBe(0);
    expectPrivate([edgeDir, join(edgeDir, 'pki')], [join(edgeDir, 'pki', 'node.key')], [join(edgeDir, 'pki', 'node.key')]);
  });
});
