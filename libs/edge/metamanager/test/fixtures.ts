// Shared test fixtures: temp directories, down messages shaped like the cloud's, a small fake hub
// that records what it sent (the real link is tested in libs/edge/edgehub), and a whole edge wired up
// with a real store, router and MetaManager.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, type Logger } from '@kedge/telemetry';
import type { Cleanup } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { MetaManager, MetaStore, type CloudLink, type MetaManagerOptions, type MetaStoreOptions } from '../src/index';

export { Cleanup, metricValue, waitFor } from '@kedge/testkit';

export const silentLogger: Logger = createLogger({ name: 'metamanager-test', level: 'silent' });

export function tempDir(cleanup: Cleanup): string {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-metamanager-'));
  cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface DownMessageOptions {
  operation?: string;
  type?: string;
  namespace?: string;
  name: string;
  rv?: string;
  content?: unknown;
  /** merged into the default object */
  fields?: Record<string, unknown>;
  labels?: Record<string, string>;
}

/** A down message as edgecontroller sends it, with a full object unless `content` is given. */
export function downMessage(options: DownMessageOptions): Message {
  const type = options.type ?? 'pod';
  const namespace = options.namespace ?? 'default';
  const metadata: Record<string, unknown> = { name: options.name, uid: `uid-${options.name}`, creationTimestamp: '2025-01-01T00:00:00Z' };
  if (namespace !== 'null') metadata['namespace'] = namespace;
  if (options.labels) metadata['labels'] = options.labels;
  if (options.rv !== undefined) metadata['resourceVersion'] = options.rv;
  const content = 'content' in options ? options.content : { metadata, ...options.fields };
  return newMessage({
    source: 'edgecontroller',
    group: 'resource',
    operation: options.operation ?? 'insert',
    resource: `${namespace}/${type}/${options.name}`,
    content,
    ...(options.rv === undefined ? {} : { resourceVersion: options.rv }),
  });
}

/** A status report as edged would hand it to report(). */
export function statusReport(resource: string, content: unknown): Message {
  return newMessage({ source: 'edged', group: 'resource', operation: 'update', resource, content });
}

export class OfflineError extends Error {
  override readonly name = 'CloudUnreachableError';
}

/**
 * Stands in for EdgeHub: records every message it sent; send() rejects while disconnected. The
 * inventory sent on each connect is kept apart in `inventories`, so `sent` holds ACKs and reports.
 */
export class FakeHub implements CloudLink {
  readonly sent: Message[] = [];
  readonly inventories: Message[] = [];
  connected: boolean;
  /** runs inside send(), before the message counts as sent (e.g. to look at the database then) */
  onSend: ((message: Message) => void) | undefined;
  readonly #observers = new Set<(connected: boolean) => void>();

  constructor(connected = false) {
    this.connected = connected;
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    for (const observer of this.#observers) observer(connected);
  }

  onConnectionChange(observer: (connected: boolean) => void): () => boolean {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  async send(message: Message): Promise<void> {
    if (!this.connected) throw new OfflineError(`offline: ${message.route.resource}`);
    this.onSend?.(message);
    if (message.route.resource.includes('/inventory/')) this.inventories.push(message);
    else this.sent.push(message);
  }

  sentWith(operation: string): Message[] {
    return this.sent.filter((message) => message.route.operation === operation);
  }
}

export function openStore(cleanup: Cleanup, file: string, options: Partial<MetaStoreOptions> = {}): MetaStore {
  const store = new MetaStore({ file, ...options });
  cleanup.add(() => store.close());
  return store;
}

export interface Edge {
  file: string;
  store: MetaStore;
  router: MessageRouter;
  hub: FakeHub;
  manager: MetaManager;
  registry: Registry;
}

export interface EdgeOptions {
  file?: string;
  connected?: boolean;
  store?: Partial<MetaStoreOptions>;
  manager?: Partial<MetaManagerOptions>;
}

/** A real store, router and MetaManager around a FakeHub; everything is stopped by `cleanup`. */
export function startEdge(cleanup: Cleanup, options: EdgeOptions = {}): Edge {
  const file = options.file ?? join(tempDir(cleanup), 'edgecore.db');
  const store = openStore(cleanup, file, options.store);
  const router = new MessageRouter({ onHandlerError: (error) => console.error('handler failed', error) });
  cleanup.add(() => router.close());
  const hub = new FakeHub(options.connected ?? true);
  const registry = new Registry();
  const manager = new MetaManager({ store, router, hub, logger: silentLogger, registry, nodeName: 'gw-1', ...options.manager });
  cleanup.add(() => manager.stop());
  return { file, store, router, hub, manager, registry };
}

export interface FixtureProcess {
  stdout(): string;
  stderr(): string;
  exited(): boolean;
  /** SIGKILL, and the signal it died of */
  kill(): Promise<NodeJS.Signals | null>;
}

/**
 * Runs `test/fixtures/<name>` (a script that opens edgecore.db and works on it) as a child process of
 * its own, for kill -9 tests; the cleanup kills it if the test did not.
 */
export function spawnFixture(cleanup: Cleanup, name: string, args: string[]): FixtureProcess {
  const projectRoot = fileURLToPath(new URL('..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', `test/fixtures/${name}`, ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const exit = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => {
      exited = true;
      resolve(signal);
    }),
  );
  cleanup.add(async () => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exit;
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exited,
    async kill() {
      if (child.pid === undefined) throw new Error('the fixture process has no pid');
      process.kill(child.pid, 'SIGKILL');
      return exit;
    },
  };
}
