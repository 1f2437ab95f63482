// Shared harness for the API server tests: a real server on 127.0.0.1 port 0 over a real SQLite file
// in a temp directory, the real kubectl pointed at it, raw HTTPS requests, client-node configs, polling.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@kedge/telemetry';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../src/index';

export const KUBECTL = '/usr/bin/kubectl';

export interface TestServer {
  server: ApiServer;
  dataDir: string;
  /** runs kubectl against the server; resolves with its output whatever the exit code */
  kubectl(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** a raw HTTPS request with the admin token (or `token`, or none with token: null) */
  request(method: string, path: string, options?: RequestOptions): Promise<HttpResult>;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RequestOptions {
  body?: string | Buffer | object;
  contentType?: string;
  accept?: string;
  /** null: no Authorization header */
  token?: string | null;
  cert?: { certPem: string; keyPem: string };
  headers?: Record<string, string>;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** the body parsed as JSON, or undefined when it is not JSON */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export async function startTestServer(options: Partial<ApiServerOptions> = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'kedge-apiserver-')));
  const cacheDir = await mkdtemp(join(tmpdir(), 'kedge-kubectl-cache-'));
  const server = await startApiServer({
    port: 0,
    logger: createLogger({ name: 'apiserver-test', level: 'silent' }),
    ...options,
    dataDir,
  });
  return {
    server,
    dataDir,
    kubectl: (args, kubectlOptions) => runKubectl(server.adminKubeconfigPath, cacheDir, args, kubectlOptions),
    request: (method, path, requestOptions) => httpRequest(server, method, path, requestOptions),
    kubeConfig: () => {
      const config = new KubeConfig();
      config.loadFromFile(server.adminKubeconfigPath);
      return config;
    },
    close: async () => {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function runKubectl(
  kubeconfig: string,
  cacheDir: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args],
      { timeout: options.timeoutMs ?? 20_000, env: { ...process.env, KUBECONFIG: kubeconfig, HOME: cacheDir } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`kubectl ${args.join(' ')} failed to run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Starts a long-running kubectl (get -w) and collects its output as it comes. */
export function spawnKubectl(test: TestServer, args: readonly string[]): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(KUBECTL, ['--kubeconfig', test.server.adminKubeconfigPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

export function httpRequest(server: ApiServer, method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
  const body =
    options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null) headers['authorization'] = `Bearer ${options.token ?? server.adminToken}`;
  if (body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    // node sends DELETE bodies without chunked encoding, so the length must be explicit
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  if (options.accept !== undefined) headers['accept'] = options.accept;
  // the path goes out as given (a leading "//" must not become a host name)
  const base = new URL(server.url);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      {
        hostname: base.hostname,
        port: base.port,
        path,
        method,
        headers,
        ca: server.caCertPem,
        ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Polls `condition` until it holds, failing with `what` after the deadline. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A well-formed Kubernetes Status of a failure. */
export function isFailureStatus(value: unknown, code?: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const status = value as Record<string, unknown>;
  return (
    status['kind'] === 'Status' &&
    status['apiVersion'] === 'v1' &&
    status['status'] === 'Failure' &&
    typeof status['message'] === 'string' &&
    typeof status['reason'] === 'string' &&
    typeof status['code'] === 'number' &&
    (code === undefined || status['code'] === code)
  );
}

/** A kubeconfig for `test`'s server that authenticates with a bearer token (a service account's, say). */
export async function writeTokenKubeconfig(test: TestServer, token: string, file: string, namespace = 'default'): Promise<string> {
  const ca = Buffer.from(test.server.caCertPem).toString('base64');
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: k, cluster: {server: "${test.server.url}", certificate-authority-data: ${ca}}}]`,
      `users: [{name: u, user: {token: "${token}"}}]`,
      `contexts: [{name: k, context: {cluster: k, user: u, namespace: ${namespace}}}]`,
      'current-context: k',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}
