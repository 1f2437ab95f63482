// Fixtures for MetaServer tests: a server on 127.0.0.1 port 0 stopped by the test's cleanup, and a
// watch client that records the event stream line by line.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { Cleanup } from '@kedge/testkit';
import { join } from 'node:path';
import { ensureLocalCredential, startMetaServer, writeLocalKubeconfig, type LocalCredential, type MetaServer, type MetaServerOptions, type MetaStore } from '../src/index';
import { silentLogger, tempDir } from './fixtures';

/** the local credential every fixture server accepts (edgecore reads its own from <dataDir>/metaserver/token) */
export const TEST_TOKEN = 'test-local-credential-0123456789abcdefghijklmnopq';

/** the header every fixture client sends */
export const AUTHORIZED: Readonly<Record<string, string>> = { authorization: `Bearer ${TEST_TOKEN}` };

export async function startServer(cleanup: Cleanup, store: MetaStore, options: Partial<MetaServerOptions> = {}): Promise<MetaServer> {
  const server = await startMetaServer({ store, port: 0, logger: silentLogger, localToken: TEST_TOKEN, ...options });
  cleanup.add(() => server.close());
  return server;
}

/** MetaServer as edgecore runs it: HTTPS with the gateway-local CA, the local credential and its kubeconfig. */
export async function startLocalServer(
  cleanup: Cleanup,
  store: MetaStore,
  options: Partial<MetaServerOptions> = {},
): Promise<{ server: MetaServer; credential: LocalCredential; kubeconfig: string }> {
  const credential = await ensureLocalCredential({ dir: join(tempDir(cleanup), 'metaserver'), listenHost: '127.0.0.1' });
  const server = await startServer(cleanup, store, { localToken: credential.token, tls: credential.tls, ...options });
  return { server, credential, kubeconfig: writeLocalKubeconfig(credential, server.url) };
}

export interface WatchEvent {
  type: string;
  object: { kind?: string; code?: number; reason?: string; metadata?: { name?: string; resourceVersion?: string; annotations?: Record<string, string> }; [key: string]: unknown };
}

/** A raw watch over HTTP; `events` fills as lines arrive, `ended` turns true when the server ends it. */
export class WatchClient {
  readonly events: WatchEvent[] = [];
  statusCode: number | undefined;
  ended = false;
  readonly #request: ClientRequest;

  constructor(url: string, headers: Record<string, string> = AUTHORIZED) {
    this.#request = httpRequest(url, { headers }, (response: IncomingMessage) => {
      this.statusCode = response.statusCode;
      const lines = createInterface({ input: response });
      lines.on('line', (line) => this.events.push(JSON.parse(line) as WatchEvent));
      // readline re-emits the response's error (a watch cut by close()): an end, not a failure
      lines.on('error', () => {
        this.ended = true;
      });
      response.on('close', () => {
        this.ended = true;
      });
      // a watch cut by the server closing its connections: that is an end, not a test failure
      response.on('error', () => {
        this.ended = true;
      });
    });
    this.#request.on('error', () => {
      this.ended = true;
    });
    this.#request.end();
  }

  summary(): string[] {
    return this.events.map((event) => `${event.type} ${event.object.metadata?.name ?? ''}@${event.object.metadata?.resourceVersion ?? ''}`);
  }

  close(): void {
    this.#request.destroy();
  }
}

export function openWatch(cleanup: Cleanup, url: string): WatchClient {
  const client = new WatchClient(url);
  cleanup.add(() => client.close());
  return client;
}

/** A fetch with the fixture servers' credential (give `authorization` in init.headers to override it). */
export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, headers: { ...AUTHORIZED, ...(init.headers as Record<string, string> | undefined) } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
