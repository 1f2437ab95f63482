// Fixtures for MetaServer tests: a server on 127.0.0.1 port 0 stopped by the test's cleanup, and a
// watch client that records the event stream line by line.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { Cleanup } from '@kedge/testkit';
import { startMetaServer, type MetaServer, type MetaServerOptions, type MetaStore } from '../src/index';
import { silentLogger } from './fixtures';

export async function startServer(cleanup: Cleanup, store: MetaStore, options: Partial<MetaServerOptions> = {}): Promise<MetaServer> {
  const server = await startMetaServer({ store, port: 0, logger: silentLogger, ...options });
  cleanup.add(() => server.close());
  return server;
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

  constructor(url: string) {
    this.#request = httpRequest(url, (response: IncomingMessage) => {
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

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
