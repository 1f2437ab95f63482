// One dialer process of the edge-scale benchmark (tools/bench/edge-scale.ts forks several): it holds a
// share of the simulated edges, so cloudcore's cost is measured without the edges on its event loop or
// on one dialer's. Each edge is a `SimulatedEdge` (@kedge/testkit) with its own P-256 node certificate,
// signed here with cloudcore's CA (read from its pki directory) so that issuing 10,000 costs the
// benchmark process nothing. The parent drives it over the IPC channel with the commands below.
import { createNodeKeyAndCsr, loadOrCreateAuthority, signNodeCsr } from '@kedge/pki';
import { SimulatedEdge, type ReceivedMessage } from '@kedge/testkit';
import { dialWebSocketHub, type Connection, type TlsMaterial } from '@kedge/transport';
import { addCounts, addDiff, countMessages, diff, matches, snapshot, type DiffCount, type MessageCount } from '../edge-desired-state';

export type DialerCommand =
  /** raw: plain transport links with no hub protocol on top (for the raw server baseline) */
  | { type: 'init'; hubUrl: string; pkiDir: string; names: string[]; keepaliveMs: number; recordMessages: boolean; raw: boolean }
  | { type: 'connect'; concurrency: number }
  | { type: 'register'; concurrency: number }
  | { type: 'status' }
  /** again: the same phase's desired sets recomputed (convergence times are kept, not restarted) */
  | { type: 'expect'; desired: [string, [string, string][]][]; again?: boolean }
  | { type: 'convergence' }
  /** counts the down messages of every edge's latest connection */
  | { type: 'messages' }
  | { type: 'disconnect' }
  | { type: 'stop' };

export interface DialerStatus {
  connected: number;
  remoteCloses: number;
  downMessages: number;
  redundantMessages: number;
  /** connection attempts that failed and were retried */
  retries: number;
  lastError: string | undefined;
}

export interface DialerConvergence {
  /** edges that hold exactly their desired set */
  converged: number;
  /** epoch ms when the last of them got there (the latest per-edge convergence) */
  lastConvergedAt: number;
  /** epoch ms when the last edge's connect (dial + inventory answered) finished */
  lastConnectedAt: number;
  firstMismatch: string | undefined;
}

/** what goes over the IPC channel: a command with the id its reply carries */
export interface DialerRequest {
  id: number;
  command: DialerCommand;
}

export type DialerReply =
  | { type: 'ok'; command: DialerCommand['type']; ms: number }
  | { type: 'status'; status: DialerStatus }
  | { type: 'convergence'; convergence: DialerConvergence }
  /** the answer to `expect`: what the edges must be sent to get from what they hold to their desired sets */
  | { type: 'expected'; ideal: DiffCount }
  | { type: 'messages'; count: MessageCount }
  | { type: 'error'; command: DialerCommand['type']; message: string };

const epochMs = (): number => performance.timeOrigin + performance.now();

let edges: SimulatedEdge[] = [];
/** the raw mode's links and what they dial with */
let raw: { hubUrl: string; names: string[]; materials: TlsMaterial[]; links: Connection[]; remoteCloses: number } | undefined;
let desired = new Map<string, Map<string, string>>();
const convergedAt = new Map<string, number>();
const connectedAt = new Map<string, number>();
/** epoch ms of the last down message each edge stored */
const changedAt = new Map<string, number>();
let retries = 0;
let lastError: string | undefined;

function send(id: number, reply: DialerReply): void {
  process.send?.({ id, reply });
}

async function mapLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) await task(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const onReceived = (_message: ReceivedMessage, edge: SimulatedEdge): void => {
  const now = epochMs();
  changedAt.set(edge.nodeName, now);
  const want = desired.get(edge.nodeName);
  if (want === undefined) return;
  if (matches(edge, want)) convergedAt.set(edge.nodeName, now);
  else convergedAt.delete(edge.nodeName);
};

/**
 * Connects one edge, retrying with jittered exponential backoff as edgehub does (0.5 s doubling to
 * 8 s) until it is in or `deadline` passes: under a storm the cloud may refuse or time out some.
 */
async function connectWithRetry(edge: SimulatedEdge, deadline: number): Promise<void> {
  for (let delay = 500; ; delay = Math.min(8_000, delay * 2)) {
    try {
      await edge.connect();
      connectedAt.set(edge.nodeName, epochMs());
      const want = desired.get(edge.nodeName);
      // an edge whose inventory already matches is sent nothing
      if (want !== undefined && matches(edge, want) && !convergedAt.has(edge.nodeName)) convergedAt.set(edge.nodeName, epochMs());
      return;
    } catch (error) {
      lastError = `${edge.nodeName}: ${(error as Error).message}`;
      await edge.disconnect().catch(() => undefined);
      if (Date.now() > deadline) throw error;
      retries += 1;
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
    }
  }
}

async function handle(command: DialerCommand): Promise<DialerReply> {
  const started = performance.now();
  const ok = (): DialerReply => ({ type: 'ok', command: command.type, ms: performance.now() - started });
  switch (command.type) {
    case 'init': {
      const ca = await loadOrCreateAuthority(command.pkiDir);
      const materials = new Array<{ cert: string; key: string; ca: string }>(command.names.length);
      let index = 0;
      await mapLimit(command.names, 4, async (nodeName) => {
        const at = index++;
        const { keyPem, csrPem } = await createNodeKeyAndCsr(nodeName);
        materials[at] = { cert: await signNodeCsr(ca, csrPem, { nodeName, validityDays: 1 }), key: keyPem, ca: ca.certPem };
      });
      if (command.raw) {
        raw = { hubUrl: command.hubUrl, names: command.names, materials, links: [], remoteCloses: 0 };
        return ok();
      }
      edges = command.names.map(
        (nodeName, i) =>
          new SimulatedEdge({
            nodeName,
            hubUrl: command.hubUrl,
            tls: materials[i]!,
            keepaliveMs: command.keepaliveMs,
            recordMessages: command.recordMessages,
            onReceived,
            requestTimeoutMs: 120_000,
            handshakeTimeoutMs: 60_000,
          }),
      );
      return ok();
    }
    case 'connect': {
      if (raw !== undefined) {
        const links = raw;
        await mapLimit(links.names.map((name, i) => [name, i] as const), Math.max(1, command.concurrency), async ([nodeName, i]) => {
          const link = await dialWebSocketHub({ url: links.hubUrl, tls: links.materials[i]!, nodeName, handshakeTimeoutMs: 60_000 });
          link.on('close', (info) => {
            if (!info.local) links.remoteCloses += 1;
          });
          links.links.push(link);
        });
        return ok();
      }
      connectedAt.clear();
      const deadline = Date.now() + 300_000;
      // concurrency 0: every edge at once (the storm)
      if (command.concurrency === 0) await Promise.all(edges.map((edge) => connectWithRetry(edge, deadline)));
      else await mapLimit(edges, command.concurrency, (edge) => connectWithRetry(edge, deadline));
      return ok();
    }
    case 'register':
      // registering again is harmless (the cloud patches an existing Node): a request lost in an
      // overloaded cloudcore is retried instead of failing the run
      await mapLimit(edges, command.concurrency, async (edge) => {
        for (let attempt = 1; ; attempt++) {
          try {
            // a link the cloud dropped meanwhile comes back first, as edgehub's would
            if (!edge.connected) await connectWithRetry(edge, Date.now() + 120_000);
            await edge.register();
            return;
          } catch (error) {
            lastError = `${edge.nodeName} register: ${(error as Error).message}`;
            if (attempt >= 3) throw error;
            retries += 1;
          }
        }
      });
      return ok();
    case 'status':
      return {
        type: 'status',
        status: {
          connected: raw?.links.filter((link) => !link.closed).length ?? edges.filter((edge) => edge.connected).length,
          remoteCloses: raw?.remoteCloses ?? edges.reduce((sum, edge) => sum + edge.remoteCloses, 0),
          downMessages: edges.reduce((sum, edge) => sum + edge.downMessages, 0),
          redundantMessages: edges.reduce((sum, edge) => sum + edge.redundantMessages, 0),
          retries,
          lastError,
        },
      };
    case 'expect': {
      desired = new Map(command.desired.map(([node, entries]) => [node, new Map(entries)]));
      let ideal: DiffCount = { insert: 0, update: 0, delete: 0 };
      for (const edge of edges) {
        const want = desired.get(edge.nodeName) ?? new Map<string, string>();
        ideal = addDiff(ideal, diff(snapshot(edge), want));
        // desired sets given again mid-run (objects the cloud changed meanwhile): an edge that holds its new
        // set got there with the last message it stored, or matched already
        const previous = convergedAt.get(edge.nodeName);
        convergedAt.delete(edge.nodeName);
        if (matches(edge, want)) convergedAt.set(edge.nodeName, command.again ? (previous ?? changedAt.get(edge.nodeName) ?? epochMs()) : epochMs());
      }
      return { type: 'expected', ideal };
    }
    case 'convergence': {
      const wrong = edges.find((edge) => !matches(edge, desired.get(edge.nodeName)));
      return {
        type: 'convergence',
        convergence: {
          converged: edges.filter((edge) => matches(edge, desired.get(edge.nodeName))).length,
          lastConvergedAt: Math.max(0, ...convergedAt.values()),
          lastConnectedAt: Math.max(0, ...connectedAt.values()),
          firstMismatch: wrong === undefined ? undefined : `${wrong.nodeName} holds ${JSON.stringify([...wrong.store].map(([key, o]) => `${key}@${o.resourceVersion}`).slice(0, 6))}, wants ${JSON.stringify([...(desired.get(wrong.nodeName) ?? [])].map(([key, rv]) => `${key}@${rv}`).slice(0, 6))}`,
        },
      };
    }
    case 'messages': {
      let count: MessageCount = { total: 0, redundant: 0, byOperation: { insert: 0, update: 0, delete: 0 } };
      for (const edge of edges) {
        count = addCounts(count, countMessages(edge.receivedOn(edge.connectionCount)));
      }
      return { type: 'messages', count };
    }
    case 'disconnect':
      await mapLimit(edges, 64, (edge) => edge.disconnect().catch(() => undefined));
      return ok();
    case 'stop':
      await mapLimit(raw?.links ?? [], 64, (link) => link.close('benchmark over'));
      await mapLimit(edges, 64, (edge) => edge.disconnect().catch(() => undefined));
      setImmediate(() => process.exit(0));
      return ok();
  }
}

// commands run one at a time, in order; status queries while a long command runs are answered at once
let queue = Promise.resolve();
process.on('message', ({ id, command }: DialerRequest) => {
  const run = (): Promise<void> =>
    handle(command).then(
      (reply) => send(id, reply),
      (error: unknown) => send(id, { type: 'error', command: command.type, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  if (command.type === 'status' || command.type === 'convergence') void run();
  else queue = queue.then(run);
});
process.on('disconnect', () => process.exit(0));
