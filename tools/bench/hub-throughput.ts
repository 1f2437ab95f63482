// Benchmark (a script, not a test): cloud→edge message throughput and latency through CloudHub →
// transport → EdgeHub → edge router, over WebSocket, QUIC and WebTransport (HTTP/2), next to raw `ws` (wss) and raw
// @matrixai/quic baselines measured in the same run. Idle edge connections at a real cloudcore are
// measured by tools/bench/edge-scale.ts. Writes its section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/hub-throughput.ts [--messages 100000] [--quic-messages 10000] [--webtransport-messages 10000]
//     [--window 64] [--dry-run]
import { X509Certificate, createHmac, randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { QUICStream, TLSVerifyCallback } from '@matrixai/quic';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { createCertificateAuthority, issueServerCertificate, type CertificateAuthority } from '@kedge/pki';
import { newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { dialHub, isQuicAvailable, listenHub, type TlsMaterial, type TransportKind } from '@kedge/transport';
import { WebSocket, WebSocketServer } from 'ws';
import {
  WindowedStream,
  benchCommand,
  describeMachine,
  formatInteger,
  formatMs,
  formatRatio,
  machineInfo,
  markdownTable,
  nodeTlsMaterial,
  parseBenchFlags,
  positiveInteger,
  progress,
  runBenchmark,
  sectionHeading,
  stopAllCloudCores,
  summaryTitle,
  textTable,
  writeBenchmarkSection,
  type StreamResult,
} from './bench-kit';
import { waitFor } from '@kedge/testkit';

const SECTION = 'hub-throughput';
const NODE_NAME = 'bench-edge';

const flags = parseBenchFlags(import.meta.filename, {
  messages: { type: 'string', default: '100000' },
  'quic-messages': { type: 'string', default: '10000' },
  'webtransport-messages': { type: 'string', default: '10000' },
  window: { type: 'string', default: '64' },
});

const settings = {
  wsMessages: positiveInteger('messages', flags.messages),
  quicMessages: positiveInteger('quic-messages', flags['quic-messages']),
  webTransportMessages: positiveInteger('webtransport-messages', flags['webtransport-messages']),
  window: positiveInteger('window', flags.window),
};
/** messages sent and thrown away before each measured run, so JIT and buffers are warm */
const warmupOf = (total: number): number => Math.min(2_000, Math.max(200, Math.floor(total / 10)));

// ---------------------------------------------------------------------------------------------------
// payload: a pod as edgecontroller would send it down, about 1 KB of JSON

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'web-6d4cf56db6-x7k2p',
    namespace: 'default',
    uid: '4f1c9a7e-2b3d-4e5f-8a9b-0c1d2e3f4a5b',
    resourceVersion: '184467',
    creationTimestamp: '2025-01-01T10:00:00Z',
    labels: { app: 'web', 'pod-template-hash': '6d4cf56db6', tier: 'frontend' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-6d4cf56db6', uid: '9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4', controller: true }],
  },
  spec: {
    nodeName: NODE_NAME,
    restartPolicy: 'Always',
    containers: [
      {
        name: 'web',
        image: 'registry.example.com/edge/web:1.4.2',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
        ],
        resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
      },
    ],
  },
  status: {
    phase: 'Running',
    hostIP: '192.168.10.21',
    podIP: '10.244.3.17',
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T10:00:09Z' },
      { type: 'ContainersReady', status: 'True', lastTransitionTime: '2025-01-01T10:00:09Z' },
    ],
  },
};

interface BenchContent {
  sentAt: number;
  seq: number;
  pod: typeof POD;
}

function benchMessage(seq: number, resource: string): Message<BenchContent> {
  return newMessage({ source: 'bench', group: 'meta', operation: 'update', resource, content: { sentAt: performance.now(), seq, pod: POD } });
}

const podBytes = Buffer.byteLength(JSON.stringify(POD));
const frameBytes = Buffer.byteLength(JSON.stringify(benchMessage(0, 'default/pod/web-6d4cf56db6-x7k2p')));

// ---------------------------------------------------------------------------------------------------
// PKI for the in-process runs

interface Pki {
  ca: CertificateAuthority;
  server: TlsMaterial;
  node: TlsMaterial;
}

async function createPki(): Promise<Pki> {
  const ca = await createCertificateAuthority({ commonName: 'kedge bench CA', validityDays: 1 });
  const server = await issueServerCertificate(ca, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'], validityDays: 1 });
  return { ca, server: { cert: server.certPem, key: server.keyPem, ca: ca.certPem }, node: await nodeTlsMaterial(ca, NODE_NAME) };
}

const silentLogger = createLogger({ name: 'bench', level: 'silent' });

/** A warm-up run and then the measured run through the same pipe. */
async function measure(label: string, total: number, send: (stream: WindowedStream, seq: number) => void, setStream: (s: WindowedStream) => void): Promise<StreamResult> {
  const warmup = new WindowedStream(warmupOf(total), settings.window);
  setStream(warmup);
  await warmup.run((seq) => send(warmup, seq));
  const measured = new WindowedStream(total, settings.window);
  setStream(measured);
  const result = await measured.run((seq) => send(measured, seq));
  progress(`  ${label}: ${formatInteger(result.perSecond)} msg/s, p50 ${formatMs(result.p50)}, p99 ${formatMs(result.p99)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// ours: CloudHub.sendToNode → listener → link → EdgeHub → edge router handler

async function runOurs(kind: TransportKind, pki: Pki, total: number): Promise<StreamResult> {
  progress(`kedge hub over ${kind}: ${formatInteger(total)} messages, window ${settings.window}`);
  const cloudRouter = new MessageRouter();
  const hub = new CloudHub({
    router: cloudRouter,
    logger: silentLogger,
    metrics: new CloudHubMetrics(createMetricsRegistry({ defaultMetrics: false })),
    // this measures the link, not the per-node guard against a flooding edge
    inbound: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, maxInFlight: 1_000_000 },
  });
  const listener = await listenHub(kind, { host: '127.0.0.1', port: 0, tls: pki.server });
  hub.attach(listener);
  const edgeRouter = new MessageRouter();
  let stream: WindowedStream | undefined;
  edgeRouter.register('meta', (message) => stream?.delivered((message.content as BenchContent).sentAt));
  const url = `${{ websocket: 'wss', quic: 'quic', webtransport: 'https' }[kind]}://127.0.0.1:${listener.port}`;
  const edge = new EdgeHub({
    nodeName: NODE_NAME,
    dial: () => dialHub(kind, { url, tls: pki.node, nodeName: NODE_NAME, handshakeTimeoutMs: 10_000 }),
    router: edgeRouter,
    logger: silentLogger,
    metrics: new EdgeHubMetrics(createMetricsRegistry({ defaultMetrics: false })),
  });
  try {
    edge.start();
    await waitFor(() => edge.connected && hub.isConnected(NODE_NAME), `the ${kind} link`, { timeoutMs: 30_000 });
    const resource = `node/${NODE_NAME}/default/pod/${POD.metadata.name}`;
    return await measure(
      `kedge ${kind}`,
      total,
      (s, seq) => void hub.sendToNode(benchMessage(seq, resource)).catch((error: unknown) => s.fail(error)),
      (s) => (stream = s),
    );
  } finally {
    await edge.stop();
    await hub.close();
    edgeRouter.close();
    cloudRouter.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// raw baseline 1: plain ws over TLS with client certificates, JSON text frames server → client

async function runRawWebSocket(pki: Pki, total: number): Promise<StreamResult> {
  progress(`raw ws (wss): ${formatInteger(total)} messages, window ${settings.window}`);
  const server = createHttpsServer({ cert: pki.server.cert, key: pki.server.key, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true });
  const webSockets = new WebSocketServer({ server, perMessageDeflate: false });
  const accepted = new Promise<WebSocket>((resolveSocket) => webSockets.once('connection', resolveSocket));
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', () => resolveListen()));
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`wss://127.0.0.1:${port}/`, { cert: pki.node.cert, key: pki.node.key, ca: pki.ca.certPem, perMessageDeflate: false });
  let stream: WindowedStream | undefined;
  client.on('message', (data: Buffer) => stream?.delivered((JSON.parse(data.toString('utf8')) as Message<BenchContent>).content.sentAt));
  try {
    const serverSocket = await accepted;
    await new Promise<void>((resolveOpen, rejectOpen) => {
      if (client.readyState === WebSocket.OPEN) resolveOpen();
      client.once('open', () => resolveOpen());
      client.once('error', rejectOpen);
    });
    const resource = `default/pod/${POD.metadata.name}`;
    return await measure(
      'raw ws',
      total,
      (s, seq) => serverSocket.send(JSON.stringify(benchMessage(seq, resource)), (error) => error && s.fail(error)),
      (s) => (stream = s),
    );
  } finally {
    client.terminate();
    for (const socket of webSockets.clients) socket.terminate();
    await new Promise<void>((resolveClose) => webSockets.close(() => resolveClose()));
    server.closeAllConnections();
    await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  }
}

// ---------------------------------------------------------------------------------------------------
// raw baseline 2: plain @matrixai/quic, one bidi stream, 4-byte big-endian length-prefixed frames

type TlsAlertCode = NonNullable<Awaited<ReturnType<TLSVerifyCallback>>>;
const BAD_CERTIFICATE = (0x100 + 42) as TlsAlertCode;

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Cuts a byte stream into length-prefixed frames (empty frames are skipped). */
function frameSplitter(onFrame: (frame: Buffer) => void): (chunk: Uint8Array) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const length = buffered.readUInt32BE(0);
      if (buffered.length < 4 + length) break;
      if (length > 0) onFrame(buffered.subarray(4, 4 + length));
      buffered = buffered.subarray(4 + length);
    }
  };
}

function lengthPrefixed(text: string): Uint8Array {
  const payload = Buffer.from(text, 'utf8');
  const frame = Buffer.allocUnsafe(4 + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, 4);
  return frame;
}

async function runRawQuic(pki: Pki, total: number): Promise<StreamResult> {
  progress(`raw @matrixai/quic: ${formatInteger(total)} messages, window ${settings.window}`);
  const { QUICClient, QUICServer, events } = await import('@matrixai/quic');
  const loggerModule = await import('@matrixai/logger');
  const logger = new loggerModule.default('bench-quic', loggerModule.LogLevel.SILENT, []);
  const mac = (key: ArrayBuffer, data: ArrayBuffer): Buffer => createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
  const server = new QUICServer({
    crypto: {
      key: arrayBufferOf(randomBytes(32)),
      ops: {
        sign: async (key, data) => arrayBufferOf(mac(key, data)),
        verify: async (key, data, signature) => {
          const expected = mac(key, data);
          const given = Buffer.from(signature);
          return expected.length === given.length && timingSafeEqual(expected, given);
        },
      },
    },
    config: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.certPem, verifyPeer: true, applicationProtos: ['kedge-bench'] },
    logger,
  });
  // the server learns of the client's stream through the connection event it re-dispatches
  let serverStream: QUICStream | undefined;
  server.addEventListener(events.EventQUICConnectionStream.name, (event: Event) => {
    serverStream ??= (event as Event & { detail: QUICStream }).detail;
  });
  await server.start({ host: '127.0.0.1', port: 0 });
  const caCertificate = new X509Certificate(pki.ca.certPem);
  const client = await QUICClient.createQUICClient({
    host: '127.0.0.1',
    port: server.port,
    crypto: { ops: { randomBytes: async (data: ArrayBuffer) => void webcrypto.getRandomValues(new Uint8Array(data)) } },
    config: {
      cert: pki.node.cert,
      key: pki.node.key,
      ca: pki.ca.certPem,
      verifyPeer: true,
      // quiche checks the host as a DNS name only; for an IP host check the chain and IP SAN here
      verifyCallback: async (chain) => {
        const [leafDer] = chain;
        if (leafDer === undefined) return BAD_CERTIFICATE;
        const leaf = new X509Certificate(leafDer);
        return leaf.verify(caCertificate.publicKey) && leaf.checkIP('127.0.0.1') !== undefined ? undefined : BAD_CERTIFICATE;
      },
      applicationProtos: ['kedge-bench'],
    },
    logger,
  });
  let stream: WindowedStream | undefined;
  const clientStream = client.connection.newStream('bidi');
  const clientWriter = clientStream.writable.getWriter();
  // an empty frame opens the stream: the server sees a stream only once bytes arrive on it
  await clientWriter.write(new Uint8Array(4));
  const split = frameSplitter((frame) => stream?.delivered((JSON.parse(frame.toString('utf8')) as Message<BenchContent>).content.sentAt));
  const reading = (async () => {
    const reader = clientStream.readable.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      split(value);
    }
  })().catch(() => undefined);
  try {
    await waitFor(() => serverStream !== undefined, 'the raw QUIC stream at the server', { timeoutMs: 10_000 });
    const serverWriter = serverStream!.writable.getWriter();
    const resource = `default/pod/${POD.metadata.name}`;
    return await measure(
      'raw quic',
      total,
      // one stream write per frame: the plain way to use the library
      (s, seq) => void serverWriter.write(lengthPrefixed(JSON.stringify(benchMessage(seq, resource)))).catch((error: unknown) => s.fail(error)),
      (s) => (stream = s),
    );
  } finally {
    await client.destroy({ force: true }).catch(() => undefined);
    await server.stop({ force: true }).catch(() => undefined);
    await reading;
  }
}

// ---------------------------------------------------------------------------------------------------

interface Row {
  path: string;
  transport: string;
  result: StreamResult;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const command = benchCommand('hub-throughput');
  progress(`hub-throughput on ${describeMachine(machine)}; frame ${formatInteger(frameBytes)} bytes`);
  const pki = await createPki();
  const quic = await isQuicAvailable();
  if (!quic) progress('QUIC is not available on this machine: the QUIC rows are skipped');

  const rows: Row[] = [];
  rows.push({ path: 'raw ws', transport: 'websocket', result: await runRawWebSocket(pki, settings.wsMessages) });
  rows.push({ path: 'kedge hub', transport: 'websocket', result: await runOurs('websocket', pki, settings.wsMessages) });
  if (quic) {
    rows.push({ path: 'raw @matrixai/quic', transport: 'quic', result: await runRawQuic(pki, settings.quicMessages) });
    rows.push({ path: 'kedge hub', transport: 'quic', result: await runOurs('quic', pki, settings.quicMessages) });
  }
  // no raw baseline: the library's own client trusts only the system CAs (see docs/protocol.md)
  rows.push({ path: 'kedge hub', transport: 'webtransport', result: await runOurs('webtransport', pki, settings.webTransportMessages) });

  const throughputHeaders = ['path', 'transport', 'messages', 'msg/s', 'p50', 'p99', 'max'];
  const throughputRows = rows.map(({ path, transport, result }) => [
    path,
    transport,
    formatInteger(result.count),
    formatInteger(result.perSecond),
    formatMs(result.p50),
    formatMs(result.p99),
    formatMs(result.max),
  ]);
  const ratioHeaders = ['transport', 'throughput kedge/raw', 'p99 kedge/raw'];
  const ratioRows: string[][] = [];
  for (const transport of ['websocket', 'quic']) {
    const ours = rows.find((r) => r.transport === transport && r.path === 'kedge hub')?.result;
    const raw = rows.find((r) => r.transport === transport && r.path !== 'kedge hub')?.result;
    if (ours && raw) ratioRows.push([transport, formatRatio(ours.perSecond / raw.perSecond), formatRatio(ours.p99 / raw.p99)]);
  }
  process.stdout.write(summaryTitle('hub-throughput', machine));
  process.stdout.write(`${textTable(throughputHeaders, throughputRows)}\n\n${textTable(ratioHeaders, ratioRows)}\n`);

  const body = [
    ...sectionHeading('Hub throughput', machine, command),
    '### Cloud → edge messages',
    '',
    `One edge node, everything in one process on 127.0.0.1 with mTLS (certificates from \`@kedge/pki\`).`,
    `**kedge hub** is \`CloudHub.sendToNode\` → hub listener → link → \`EdgeHub\` → edge \`MessageRouter\` handler`,
    '(resource prefix stripped, each message encoded and validated, the messages of one event-loop turn sent as one',
    'WebSocket batch frame, each message decoded and validated on its own, routed; what a message costs and why:',
    '`libs/shared/transport/README.md`, "Per-message cost"). The raw `ws` baseline sends one message per frame.',
    '**raw ws** is a plain `ws` server on `https` sending the same JSON frames to a plain `ws` client that',
    '`JSON.parse`s them; **raw @matrixai/quic** is a plain QUIC server writing the same JSON as 4-byte',
    'length-prefixed frames on one bidirectional stream, one stream write per frame, to a client that',
    'splits and parses them. **webtransport** is WebTransport over HTTP/2 (`@fails-components/webtransport`',
    '1.6.8, pure JS) with the same length-prefixed frames on one bidirectional WebTransport stream; it has no',
    "raw row: the library's own client cannot dial a hub with a private CA, so there is nothing raw to compare.",
    '',
    `Each message is a \`meta/update\` carrying a pod-like object (${formatInteger(podBytes)} bytes of JSON; ${formatInteger(frameBytes)}-byte frame) and`,
    'the `performance.now()` of its send; latency is measured at the receiving handler. Senders keep at',
    `most **${settings.window} messages in flight** (sent, not yet received). Each run is preceded by a`,
    'warm-up of 10 % of its count (200 to 2,000 messages) that is not measured. msg/s is the measured',
    'count over the time from the first send to the last delivery; both ends share the 2 cores.',
    '',
    markdownTable(throughputHeaders, throughputRows),
    '',
    markdownTable(ratioHeaders, ratioRows),
    '',
    'A throughput ratio below 1 means the kedge hub moves fewer messages per second than the raw',
    'baseline; a p99 ratio above 1 means its tail latency is longer.',
    '',
    'Idle edge connections at a real cloudcore process are measured by `tools/bench/edge-scale.ts` (its own section).',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('hub-throughput', main, { shutdown: () => stopAllCloudCores(), stopping: 'stopping cloudcore' });
