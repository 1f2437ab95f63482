// Threat suite, issue 12 item 2: join tokens. A real cloudcore (embedded API server, certificate
// server on loopback, token ledger in its data dir), real kedgeadm and edgecore processes, and the
// attacker's own HTTPS requests with its own keys. Nothing here is mocked.
import { createHash, createHmac, createPrivateKey, hkdfSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeKeyAndCsr, nodeNameOf, parseJoinToken } from '@kedge/pki';
import { KedgeProcess, kubectlOk, repoRoot, runKedgeadm, stopAll, tempDir, writeYaml } from '../e2e/harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from '../e2e/cluster';

afterEach(stopAll);

interface JoinAnswer {
  status: number;
  error?: string;
  message?: string;
  certPem?: string;
}

/** What an attacker does by hand: POST a CSR for `nodeName`, made with `key` (a fresh one by default). */
async function postCsr(cloud: CloudCoreHandle, token: string, nodeName: string, key?: { csrPem: string }): Promise<JoinAnswer> {
  const { csrPem } = key ?? (await createNodeKeyAndCsr(nodeName));
  const caPem = readFileSync(join(cloud.dataDir, 'pki', 'ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: cloud.ports.https,
        method: 'POST',
        path: '/edge.crt',
        ca: caPem,
        agent: false,
        headers: { Authorization: `Bearer ${token}`, NodeName: nodeName, 'Content-Length': String(Buffer.byteLength(csrPem)) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status === 200) return resolve({ status, certPem: text });
          const body = JSON.parse(text) as { error?: string; message?: string };
          resolve({ status, ...body });
        });
      },
    );
    req.on('error', reject);
    req.end(csrPem);
  });
}

/** A token exactly as kedgeadm made them before tokens were bound: `{v: 1, jti, iat, exp}`, no node. */
function oldStyleUnboundToken(cloud: CloudCoreHandle): string {
  const certPem = readFileSync(join(cloud.dataDir, 'pki', 'ca.crt'), 'utf8');
  const keyPem = readFileSync(join(cloud.dataDir, 'pki', 'ca.key'), 'utf8');
  const caHash = createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
  const iat = Math.floor(Date.now() / 1000);
  const claims = { v: 1, jti: randomBytes(16).toString('base64url'), iat, exp: iat + 24 * 3600 };
  const signed = `${caHash}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const jwk = createPrivateKey(keyPem).export({ format: 'jwk' });
  const macKey = Buffer.from(hkdfSync('sha256', Buffer.from(String(jwk.d), 'base64url'), Buffer.from(caHash, 'hex'), 'kedge join token v1', 32));
  return `${signed}.${createHmac('sha256', macKey).update(signed).digest('base64url')}`;
}

describe('threat - join tokens', () => {
  it('attack - joining with an unbound token made by an older kedgeadm is refused', async () => {
    const cloud = await startCloudCore();
    const answer = await postCsr(cloud, oldStyleUnboundToken(cloud), 'gw-any-name');
    expect(answer.status).toBe(401);
    expect(answer.error).toBe('LEGACY_TOKEN');
    expect(answer.message).toMatch(/kedgeadm token create --node/);
  });

  it('attack - a token created for node A used to join as node B is refused', async () => {
    const cloud = await startCloudCore();
    const forA = await issueToken(cloud, ['--node', 'gw-a']);
    const asB = await postCsr(cloud, forA, 'gw-b');
    expect(asB.status).toBe(403);
    expect(asB.error).toBe('WRONG_NODE');
    // a batch token is bound to its pattern: a name outside it is refused the same way
    const batch = await issueToken(cloud, ['--node-pattern', 'shop-*', '--count', '2']);
    const outside = await postCsr(cloud, batch, 'office-1');
    expect([outside.status, outside.error]).toEqual([403, 'WRONG_NODE']);
    expect((await postCsr(cloud, forA, 'gw-a')).status).toBe(200);
  });

  it('attack - a second join with a used token and another key is refused, while a retry with the same key succeeds', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-retry']);
    const ownKey = await createNodeKeyAndCsr('gw-retry');
    const first = await postCsr(cloud, token, 'gw-retry', ownKey);
    expect(first.status).toBe(200);
    // the attacker copied the token after the gateway used it, and brings its own key
    const stolen = await postCsr(cloud, token, 'gw-retry');
    expect([stolen.status, stolen.error]).toEqual([403, 'TOKEN_ALREADY_USED']);
    // the gateway's join was interrupted after the certificate was issued: the same key may ask again
    const retry = await postCsr(cloud, token, 'gw-retry', ownKey);
    expect(retry.status).toBe(200);
    expect(await nodeNameOf(retry.certPem ?? '')).toBe('gw-retry');
    // a batch token: each name once, and no more names than its count
    const batch = await issueToken(cloud, ['--node-pattern', 'shop-*', '--count', '2']);
    expect((await postCsr(cloud, batch, 'shop-1')).status).toBe(200);
    expect((await postCsr(cloud, batch, 'shop-1')).error).toBe('TOKEN_ALREADY_USED');
    expect((await postCsr(cloud, batch, 'shop-2')).status).toBe(200);
    expect((await postCsr(cloud, batch, 'shop-3')).error).toBe('TOKEN_ALREADY_USED');
  });

  it('attack - joining with an expired token is refused', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-late', '--ttl', '1s']);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const answer = await postCsr(cloud, token, 'gw-late');
    expect([answer.status, answer.error]).toEqual([401, 'EXPIRED']);
  });

  it('attack - joining with a deleted token is refused', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-deleted']);
    const id = parseJoinToken(token).claims.jti;
    const listed = await runKedgeadm(['token', 'list', '--data-dir', cloud.dataDir]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(token.split('.')[2]); // never the secret part
    const deleted = await runKedgeadm(['token', 'delete', id, '--data-dir', cloud.dataDir]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const answer = await postCsr(cloud, token, 'gw-deleted');
    expect([answer.status, answer.error]).toEqual([401, 'UNKNOWN_TOKEN']);
    expect(answer.message).toMatch(/deleted/);
  });

  it('attack - a token for a name that is already a live node (an edge, or a node of the cluster) is refused', async () => {
    const cloud = await startCloudCore();
    const edge = startEdgeCore(cloud, { nodeName: 'gw-live', token: await issueToken(cloud, ['--node', 'gw-live']) });
    await cloud.process.waitForLog(isNodeConnected('gw-live'), 'gw-live connected');
    // a token that names the live node (an admin's slip, or a batch pattern that covers it)
    const takeover = await postCsr(cloud, await issueToken(cloud, ['--node', 'gw-live']), 'gw-live');
    expect([takeover.status, takeover.error]).toEqual([409, 'NODE_EXISTS']);
    expect(takeover.message).toMatch(/kubectl delete node gw-live/);
    // a node kedge never joined (a control-plane node of the cluster)
    await kubectlOk({ kubeconfig: cloud.kubeconfig }, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'control-plane-1' } }));
    const controlPlane = await postCsr(cloud, await issueToken(cloud, ['--node-pattern', 'control-*', '--count', '1']), 'control-plane-1');
    expect([controlPlane.status, controlPlane.error]).toEqual([409, 'NODE_EXISTS']);
    // the live edge kept its session
    expect(cloud.process.logs.filter(isNodeConnected('gw-live'))).toHaveLength(1);
    expect(edge.process.running).toBe(true);
  });

  it('attack - reading the command line of a running edgecore (ps) reveals no join token', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-ps']);
    const edge = startEdgeCore(cloud, { nodeName: 'gw-ps', token });
    await cloud.process.waitForLog(isNodeConnected('gw-ps'), 'gw-ps connected');
    const secret = token.split('.')[2] ?? token;
    expect(readFileSync(`/proc/${edge.process.pid}/cmdline`, 'utf8')).not.toContain(secret);

    // the token on stdin (`--token -`) joins too, and is not on the command line either
    const stdinToken = await issueToken(cloud, ['--node', 'gw-stdin']);
    const viaStdin = startEdgeCore(cloud, { nodeName: 'gw-stdin', tokenOnStdin: stdinToken });
    await cloud.process.waitForLog(isNodeConnected('gw-stdin'), 'gw-stdin connected');
    expect(readFileSync(`/proc/${viaStdin.process.pid}/cmdline`, 'utf8')).not.toContain(stdinToken.split('.')[2]);
  });

  it('attack - a join token given on the command line of edgecore is refused, before anything is sent', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-argv']);
    const configFile = writeYaml(join(tempDir('argv'), 'edgecore.yaml'), { nodeName: 'gw-argv', edgeHub: { httpServer: `https://127.0.0.1:${cloud.ports.https}` } });
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps', 'edgecore', 'src', 'main.ts'), '--config', configFile, '--token', token], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new KedgeProcess('edgecore', child);
    expect(await proc.waitForExit()).toBe(2);
    expect(proc.stderr.join('')).toMatch(/--token-file/);
    // the token is still unused: the cloud never saw it
    expect((await postCsr(cloud, token, 'gw-argv')).status).toBe(200);
  });

  it('attack - reading the files kedgeadm join wrote reveals no join token', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-files']);
    const prefix = tempDir('files-prefix');
    const dataDir = join(tempDir('files-data'), 'edgecore');
    const joined = await runKedgeadm([
      'join', '--cloud', '127.0.0.1', '--https-port', String(cloud.ports.https), '--node-name', 'gw-files',
      '--token', token, '--prefix', prefix, '--data-dir', dataDir,
    ]);
    expect(joined.code, joined.stderr).toBe(0);
    const secret = token.split('.')[2] ?? token;
    const files = [...walk(prefix), ...walk(dataDir)];
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toContain(secret);
  });
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
