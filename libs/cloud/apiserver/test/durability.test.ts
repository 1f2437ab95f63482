// kill -9 during a burst of writes: every write the server acknowledged is there after a restart on
// the same data directory. The server runs in a child process so that it can really be SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const FIXTURE = fileURLToPath(new URL('./fixtures/run-apiserver.ts', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
}

let dataDir: string | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

function startChild(directory: string): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface(child.stdout!);
    lines.once('line', (line) => {
      const info = JSON.parse(line) as { url: string; token: string };
      resolve({ child, url: info.url, token: info.token });
    });
    child.once('exit', (code, signal) => reject(new Error(`the API server exited early (${code ?? signal})`)));
  });
}

interface Response {
  status: number;
  body: Record<string, unknown> | undefined;
}

function call(server: Started, agent: Agent, ca: string, method: string, path: string, body?: unknown): Promise<Response> {
  return new Promise((resolve) => {
    const request = httpsRequest(
      new URL(path, server.url),
      { method, agent, ca, headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          let parsed: Record<string, unknown> | undefined;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            parsed = undefined;
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
        response.on('error', () => resolve({ status: 0, body: undefined }));
      },
    );
    // a connection cut by the kill is simply "not acknowledged"
    request.on('error', () => resolve({ status: 0, body: undefined }));
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('durability', () => {
  it('every acknowledged write survives kill -9 in the middle of a burst', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kedge-apiserver-kill-'));
    const first = await startChild(dataDir);
    const ca = await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8');
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const acknowledgedCreates = new Map<string, string>();
    /** per counter object: values acknowledged in order (one writer each, one request at a time) */
    const acknowledgedUpdates = new Map<string, string[]>();
    let stop = false;
    let writes = 0;

    const creator = async (id: number): Promise<void> => {
      for (let step = 0; !stop; step++) {
        const name = `created-${id}-${step}`;
        const value = `value-${id}-${step}`;
        const response = await call(first, agent, ca, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name }, data: { value } });
        if (response.status === 201) acknowledgedCreates.set(name, value);
        writes++;
      }
    };
    const updater = async (id: number): Promise<void> => {
      const name = `counter-${id}`;
      const created = await call(first, agent, ca, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name }, data: { value: '0' } });
      if (created.status !== 201) return;
      acknowledgedUpdates.set(name, ['0']);
      for (let step = 1; !stop; step++) {
        const response = await call(first, agent, ca, 'PUT', `/api/v1/namespaces/default/configmaps/${name}`, { metadata: { name }, data: { value: String(step) } });
        if (response.status === 200) acknowledgedUpdates.get(name)?.push(String(step));
        writes++;
      }
    };
    const burst = Promise.all([0, 1, 2, 3].map(creator).concat([0, 1].map(updater)));
    while (writes < 200) await new Promise((resolve) => setTimeout(resolve, 5));
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    stop = true;
    await burst;
    agent.destroy();
    expect(acknowledgedCreates.size).toBeGreaterThan(50);

    const second = await startChild(dataDir);
    const agent2 = new Agent({ keepAlive: true });
    try {
      const list = await call(second, agent2, ca, 'GET', '/api/v1/namespaces/default/configmaps');
      expect(list.status).toBe(200);
      const stored = new Map(
        ((list.body?.['items'] ?? []) as { metadata: { name: string }; data: { value: string } }[]).map((item) => [item.metadata.name, item.data.value]),
      );
      for (const [name, value] of acknowledgedCreates) expect(stored.get(name), name).toBe(value);
      for (const [name, values] of acknowledgedUpdates) {
        // the last acknowledged value, or the one request that was in flight when the server died
        const last = Number(values[values.length - 1]);
        expect([String(last), String(last + 1)], name).toContain(stored.get(name));
      }
    } finally {
      agent2.destroy();
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));
    }
  });
});
