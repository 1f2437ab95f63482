// Threat suite, item 6 (local services on the gateway): MetaServer serves every Secret of the node, so
// anyone on the host, a hostNetwork pod, or a web page using DNS rebinding must be refused unless it holds
// the local credential (a root-only file). Real HTTP on 127.0.0.1, a real SQLite store.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createMetricsRegistry } from '@kedge/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureLocalCredential } from '../src/index';
import { Cleanup, downMessage, metricValue, openStore, tempDir } from './fixtures';
import { startLocalServer, startServer, TEST_TOKEN } from './server-fixtures';

const KUBECTL = 'kubectl';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function storeWithSecret() {
  const store = openStore(cleanup, join(tempDir(cleanup), 'edgecore.db'));
  store.apply(downMessage({ type: 'secret', namespace: 'plant', name: 'modbus-password', rv: '7', fields: { data: { password: Buffer.from('hunter2').toString('base64') } } }));
  return store;
}

/** A raw GET with exactly the headers given (fetch would not let us forge Host). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

const SECRET_PATH = '/api/v1/namespaces/plant/secrets/modbus-password';

describe('threat - MetaServer on the gateway', () => {
  it('attack - an unauthenticated GET of a Secret is refused', async () => {
    const registry = createMetricsRegistry();
    const server = await startServer(cleanup, storeWithSecret(), { registry });
    for (const path of [SECRET_PATH, '/api/v1/secrets', '/api/v1/namespaces/plant/secrets?watch=1', '/api/v1']) {
      const refused = await rawGet(`${server.url}${path}`, {});
      expect(refused.status, path).toBe(401);
      expect(refused.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
      expect(String(refused.body['message'])).toContain('kubeconfig');
      expect(JSON.stringify(refused.body)).not.toContain('hunter2');
    }
    expect(await metricValue(registry, 'kedge_metaserver_refused_total', { reason: 'no_credential' })).toBe(4);
    // the right credential works
    const allowed = await rawGet(`${server.url}${SECRET_PATH}`, { authorization: `Bearer ${TEST_TOKEN}` });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ kind: 'Secret', metadata: { name: 'modbus-password' } });
  });

  it('attack - a guessed or foreign bearer token is refused', async () => {
    const registry = createMetricsRegistry();
    const server = await startServer(cleanup, storeWithSecret(), { registry });
    for (const authorization of [`Bearer ${TEST_TOKEN}x`, `Bearer ${TEST_TOKEN.slice(1)}`, 'Bearer ', `Basic ${Buffer.from(`admin:${TEST_TOKEN}`).toString('base64')}`, 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
      const refused = await rawGet(`${server.url}${SECRET_PATH}`, { authorization });
      expect(refused.status, authorization).toBe(401);
      expect(refused.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    }
    expect(await metricValue(registry, 'kedge_metaserver_refused_total', { reason: 'bad_credential' })).toBe(5);
  });

  it('attack - a request with a foreign Host header (DNS rebinding) is refused, even with the credential', async () => {
    const registry = createMetricsRegistry();
    const server = await startServer(cleanup, storeWithSecret(), { registry });
    for (const host of ['attacker.example', `attacker.example:${server.port}`, `127.0.0.1.nip.io:${server.port}`, '10.0.0.7']) {
      const refused = await rawGet(`${server.url}${SECRET_PATH}`, { host, authorization: `Bearer ${TEST_TOKEN}` });
      expect(refused.status, host).toBe(403);
      expect(refused.body).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
      expect(String(refused.body['message'])).toContain('metaServer.allowedHosts');
    }
    expect(await metricValue(registry, 'kedge_metaserver_refused_total', { reason: 'foreign_host' })).toBe(4);
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'localhost']) {
      expect((await rawGet(`${server.url}${SECRET_PATH}`, { host, authorization: `Bearer ${TEST_TOKEN}` })).status, host).toBe(200);
    }
  });

  it('a host named in allowedHosts is served; health endpoints stay open without a credential', async () => {
    const server = await startServer(cleanup, storeWithSecret(), { allowedHosts: ['gateway-7.plant.local'] });
    expect((await rawGet(`${server.url}${SECRET_PATH}`, { host: `gateway-7.plant.local:${server.port}`, authorization: `Bearer ${TEST_TOKEN}` })).status).toBe(200);
    for (const path of ['/healthz', '/livez', '/readyz']) expect((await rawGet(`${server.url}${path}`, { host: 'anything.example' })).status, path).toBe(200);
  });

  it('the local credential is root-only (0700 directory, 0600 token, key and kubeconfig) and kubectl reads a Secret through it over TLS', async () => {
    const { server, credential, kubeconfig } = await startLocalServer(cleanup, storeWithSecret());
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(credential.dir).mode & 0o777).toBe(0o700);
    for (const file of [credential.tokenFile, join(credential.dir, 'server.key'), join(credential.dir, 'ca.key'), kubeconfig]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(credential.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const home = tempDir(cleanup);
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        // stdin closed: kubectl answered 401 would otherwise wait for a username on it
        const child = execFile(KUBECTL, [...args, '--cache-dir', join(home, 'cache'), '--request-timeout', '20s'], { env: { ...process.env, HOME: home, KUBECONFIG: join(home, 'none') } }, (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
        child.stdin?.end();
      });
    const read = await run(['--kubeconfig', kubeconfig, 'get', 'secret', 'modbus-password', '-n', 'plant', '-o', 'jsonpath={.data.password}']);
    expect(read.stderr).toBe('');
    expect(Buffer.from(read.stdout, 'base64').toString()).toBe('hunter2');
    // the same server with a token of its own making: kubectl is refused
    const anonymous = await run(['--server', server.url, '--certificate-authority', credential.caFile, '--token', 'not-the-gateway-token-0123456789abcdef', 'get', 'secret', 'modbus-password', '-n', 'plant']);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/must be logged in|Unauthorized/);
    // a restart keeps the token (scripts holding the kubeconfig keep working)
    expect((await ensureLocalCredential({ dir: credential.dir, listenHost: '127.0.0.1' })).token).toBe(credential.token);
  });
});
