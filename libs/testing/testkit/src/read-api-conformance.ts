// One conformance suite for every server that offers the Kubernetes read API (the MQTT.js pattern:
// one suite, every implementation): the embedded API server and the edge's MetaServer both run it
// from their own tests, with the same seeded objects, over real HTTP and the real kubectl.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { KubeObject } from '@kedge/kube-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './wait-for';

export const KUBECTL = '/usr/bin/kubectl';

const pod = (namespace: string, name: string, labels: Record<string, string>, nodeName: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name, labels },
  spec: { nodeName, containers: [{ name: 'app', image: 'registry.local/app:1' }] },
});

/** What every implementation serves before the suite runs: pods and configmaps in two namespaces, with labels. */
export const READ_API_SEED: readonly KubeObject[] = [
  pod('alpha', 'web', { app: 'web', tier: 'front' }, 'gw-1'),
  pod('alpha', 'db', { app: 'db' }, 'gw-2'),
  pod('beta', 'web', { app: 'web' }, 'gw-2'),
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'alpha', name: 'settings', labels: { app: 'web' } }, data: { interval: '5s' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'beta', name: 'settings' }, data: { a: '1', b: '2' } },
];

/** A started server holding READ_API_SEED, and how to reach and drive it. */
export interface ReadApiServer {
  /** e.g. `https://127.0.0.1:41234` or `http://127.0.0.1:10550` */
  url: string;
  /** sent with every raw request (e.g. Authorization) */
  headers: Record<string, string>;
  /** the CA that signed an https server's certificate */
  caPem?: string;
  /** how kubectl reaches the server: `['--kubeconfig', path]` or `['--server', url]` */
  kubectlArgs: string[];
  /** creates or replaces an object (through the server's write API, or the edge's down messages) */
  put(object: KubeObject): Promise<void>;
  /** makes the server forget its change history up to now, so a resourceVersion from before is too old */
  forgetHistory(): Promise<void>;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function requestOf(server: ReadApiServer, path: string, headers: Record<string, string>, onResponse: (response: IncomingMessage) => void) {
  const options = { headers: { ...server.headers, ...headers }, ...(server.caPem === undefined ? {} : { ca: server.caPem }) };
  const url = new URL(path, server.url);
  return url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
}

function get(server: ReadApiServer, path: string, accept = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const request = requestOf(server, path, { accept }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** A watch that records its JSON lines until the server ends it or `close` is called. */
function watch(server: ReadApiServer, path: string) {
  const events: { type: string; object: any }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const state = { status: 0, ended: false };
  const request = requestOf(server, path, { accept: 'application/json' }, (response) => {
    state.status = response.statusCode ?? 0;
    const lines = createInterface({ input: response });
    lines.on('line', (line) => events.push(JSON.parse(line) as (typeof events)[number]));
    lines.on('close', () => (state.ended = true));
    lines.on('error', () => (state.ended = true));
  });
  request.on('error', () => (state.ended = true));
  request.end();
  return { events, state, close: () => request.destroy() };
}

const names = (list: { items: KubeObject[] }): string[] => list.items.map((item) => `${item.metadata.namespace ?? ''}/${item.metadata.name ?? ''}`);

/**
 * Registers the read API conformance suite for one implementation.
 * @param name shown in the test names, e.g. `apiserver`
 * @param start starts a server holding READ_API_SEED; called once for the suite
 */
export function describeReadApi(name: string, start: () => Promise<ReadApiServer>): void {
  describe(`read API conformance - ${name}`, () => {
    let server: ReadApiServer;
    let cacheDir: string;

    const kubectl = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        execFile(KUBECTL, [...server.kubectlArgs, '--cache-dir', cacheDir, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
        });
      });

    beforeAll(async () => {
      cacheDir = mkdtempSync(join(tmpdir(), 'kedge-read-api-kubectl-'));
      server = await start();
    });
    afterAll(async () => {
      await server?.close();
      rmSync(cacheDir, { recursive: true, force: true });
    });

    it('get - an object by namespace and name, with kind and apiVersion', async () => {
      const { status, body } = await get(server, '/api/v1/namespaces/alpha/pods/web');
      expect(status).toBe(200);
      expect(body).toMatchObject({ kind: 'Pod', apiVersion: 'v1', metadata: { namespace: 'alpha', name: 'web', labels: { app: 'web' } }, spec: { nodeName: 'gw-1' } });
      expect(body.metadata.resourceVersion).toMatch(/^\d+$/);
    });

    it('get - a missing object is a 404 Status with reason NotFound naming it', async () => {
      const { status, body } = await get(server, '/api/v1/namespaces/alpha/pods/nope');
      expect(status).toBe(404);
      expect(body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' } });
    });

    it('get - a namespace holding objects is Active; an unknown one is a NotFound naming it', async () => {
      const alpha = await get(server, '/api/v1/namespaces/alpha');
      expect(alpha.status).toBe(200);
      expect(alpha.body).toMatchObject({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'alpha' }, status: { phase: 'Active' } });
      const gamma = await get(server, '/api/v1/namespaces/gamma');
      expect(gamma.status).toBe(404);
      expect(gamma.body).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'namespaces "gamma" not found' });
    });

    it('get - kubectl get of a missing object prints the NotFound naming it', async () => {
      const printed = await kubectl(['get', 'pod', 'nope', '-n', 'alpha']);
      expect(printed.code).not.toBe(0);
      expect(printed.stderr).toContain('pods "nope" not found');
    });

    it('list - in a namespace and across namespaces, as a <Kind>List with a resourceVersion', async () => {
      const inAlpha = await get(server, '/api/v1/namespaces/alpha/pods');
      expect(inAlpha.body).toMatchObject({ kind: 'PodList', apiVersion: 'v1' });
      expect(inAlpha.body.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(names(inAlpha.body).sort()).toEqual(['alpha/db', 'alpha/web']);
      expect(names((await get(server, '/api/v1/pods')).body).sort()).toEqual(['alpha/db', 'alpha/web', 'beta/web']);
      expect(names((await get(server, '/api/v1/configmaps')).body).filter((key) => key.startsWith('alpha/') || key.startsWith('beta/')).sort()).toEqual(['alpha/settings', 'beta/settings']);
    });

    it('list - labelSelector with =, !=, in, exists and !exists', async () => {
      const select = async (selector: string): Promise<string[]> =>
        names((await get(server, `/api/v1/pods?labelSelector=${encodeURIComponent(selector)}`)).body).sort();
      expect(await select('app=web')).toEqual(['alpha/web', 'beta/web']);
      expect(await select('app!=web')).toEqual(['alpha/db']);
      expect(await select('app in (db,cache)')).toEqual(['alpha/db']);
      expect(await select('tier')).toEqual(['alpha/web']);
      expect(await select('app=web,!tier')).toEqual(['beta/web']);
      const bad = await get(server, `/api/v1/pods?labelSelector=${encodeURIComponent('app in (web')}`);
      expect(bad).toMatchObject({ status: 400, body: { kind: 'Status', reason: 'BadRequest' } });
    });

    it('list - fieldSelector on metadata.name, metadata.namespace and spec.nodeName', async () => {
      const select = async (selector: string): Promise<string[]> =>
        names((await get(server, `/api/v1/pods?fieldSelector=${encodeURIComponent(selector)}`)).body).sort();
      expect(await select('metadata.name=web')).toEqual(['alpha/web', 'beta/web']);
      expect(await select('metadata.namespace=beta')).toEqual(['beta/web']);
      expect(await select('spec.nodeName=gw-2')).toEqual(['alpha/db', 'beta/web']);
      expect(await select('spec.nodeName!=gw-2,metadata.namespace=alpha')).toEqual(['alpha/web']);
      const printed = await kubectl(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=gw-1', '-o', 'name']);
      expect(printed.stdout.trim()).toBe('pod/web');
    });

    it('table - as=Table answers kubectl get with its columns', async () => {
      const { body } = await get(server, '/api/v1/namespaces/beta/configmaps', 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
      expect(body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
      expect(body.columnDefinitions.filter((column: { priority: number }) => column.priority === 0).map((column: { name: string }) => column.name)).toEqual(['Name', 'Data', 'Age']);
      expect(body.rows.map((row: { cells: unknown[] }) => row.cells.slice(0, 2))).toEqual([['settings', 2]]);
      const printed = await kubectl(['get', 'pods', '-n', 'alpha']);
      expect(printed.code, printed.stderr).toBe(0);
      const lines = printed.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/));
      expect(lines[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      expect(lines.slice(1).map((cells) => cells.slice(0, 2))).toEqual([['db', '0/1'], ['web', '0/1']]);
    });

    it('watch - from a list resourceVersion replays what changed after it, then goes on live', async () => {
      const listed = await get(server, '/api/v1/namespaces/alpha/configmaps');
      const from = String(listed.body.metadata.resourceVersion);
      await server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'alpha', name: 'settings', labels: { app: 'web' } }, data: { interval: '10s' } });
      const stream = watch(server, `/api/v1/namespaces/alpha/configmaps?watch=1&resourceVersion=${from}`);
      try {
        await waitFor(() => stream.events.length >= 1, 'the replayed change');
        expect(stream.state.status).toBe(200);
        expect(stream.events[0]).toMatchObject({ type: 'MODIFIED', object: { kind: 'ConfigMap', metadata: { name: 'settings' }, data: { interval: '10s' } } });
        await server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'alpha', name: 'extra' }, data: {} });
        await waitFor(() => stream.events.length >= 2, 'the live change');
        expect(stream.events[1]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'extra' } } });
        expect(Number(stream.events[1]?.object.metadata.resourceVersion)).toBeGreaterThan(Number(from));
      } finally {
        stream.close();
      }
    });

    it('watch - from a resourceVersion older than the kept history gets one ERROR event with a 410 Expired Status', async () => {
      const from = String((await get(server, '/api/v1/namespaces/beta/configmaps')).body.metadata.resourceVersion);
      await server.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'beta', name: 'settings' }, data: { a: '1', b: '3' } });
      await server.forgetHistory();
      const stream = watch(server, `/api/v1/namespaces/beta/configmaps?watch=1&resourceVersion=${from}`);
      try {
        await waitFor(() => stream.state.ended, 'the server to end the watch');
        expect(stream.state.status).toBe(200);
        expect(stream.events).toHaveLength(1);
        expect(stream.events[0]).toMatchObject({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' } });
        expect(stream.events[0]?.object.message).toMatch(new RegExp(`^too old resource version: ${from} \\(\\d+\\)`));
      } finally {
        stream.close();
      }
    });
  });
}
