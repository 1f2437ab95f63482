// End-to-end: what a live cloudcore refuses, and that refusing never disturbs a well-behaved edge.
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeMessage, encodeMessage, newMessage, type Message } from '@kedge/protocol';
import { dialWebSocketHub } from '@kedge/transport';
import { fetchMetrics, metricSum, metricValue, stopAll, waitFor } from './harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from './cluster';

afterEach(stopAll);

function edgeTls(dataDir: string): { cert: string; key: string; ca: string } {
  const pki = join(dataDir, 'pki');
  return {
    cert: readFileSync(join(pki, 'node.crt'), 'utf8'),
    key: readFileSync(join(pki, 'node.key'), 'utf8'),
    ca: readFileSync(join(pki, 'ca.crt'), 'utf8'),
  };
}

/** Join a node through a real edgecore, then stop it, leaving its certificate for a hand-made client. */
async function joinedCertificate(cloud: CloudCoreHandle, nodeName: string) {
  const edge = startEdgeCore(cloud, { nodeName, token: await issueToken(cloud, ['--node', nodeName]) });
  await cloud.process.waitForLog(isNodeConnected(nodeName), `${nodeName} session`);
  await edge.process.stop('SIGKILL');
  return edgeTls(edge.dataDir);
}

describe('hub security - tokens', () => {
  it('an expired token is refused and edgecore says to issue a new one', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-expired', '--ttl', '1s']);
    await new Promise((r) => setTimeout(r, 2_100));
    const edge = startEdgeCore(cloud, { nodeName: 'gw-expired', token });
    expect(await edge.process.waitForExit()).not.toBe(0);
    const failure = await edge.process.waitForLog((l) => l.msg === 'edgecore could not start', 'start failure');
    expect(String(failure.error)).toMatch(/expired/i);
    expect(String(failure.error)).toMatch(/kedgeadm token/);
  });

  it('a forged token (claims changed, signature kept) is refused', async () => {
    const cloud = await startCloudCore();
    const [hash, claims, mac] = (await issueToken(cloud, ['--node', 'gw-forged'])).split('.') as [string, string, string];
    const decoded = JSON.parse(Buffer.from(claims, 'base64url').toString()) as Record<string, unknown>;
    decoded.exp = Number(decoded.exp) + 3600 * 24 * 365;
    const forged = `${hash}.${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${mac}`;
    const edge = startEdgeCore(cloud, { nodeName: 'gw-forged', token: forged });
    expect(await edge.process.waitForExit()).not.toBe(0);
    const failure = await edge.process.waitForLog((l) => l.msg === 'edgecore could not start', 'start failure');
    expect(String(failure.error)).toMatch(/signature|forged|tampered/i);
  });

  it('a token from another cloudcore (wrong CA) makes the edge refuse to join', async () => {
    const cloud = await startCloudCore();
    const other = await startCloudCore();
    const edge = startEdgeCore(cloud, { nodeName: 'gw-wrong-ca', token: await issueToken(other, ['--node', 'gw-wrong-ca']) });
    expect(await edge.process.waitForExit()).not.toBe(0);
    const failure = await edge.process.waitForLog((l) => l.msg === 'edgecore could not start', 'start failure');
    expect(failure.code).toBe('CA_HASH_MISMATCH');
    expect(String(failure.error)).toMatch(/refusing to join.*token was not sent/s);
    expect(cloud.process.logs.some(isNodeConnected('gw-wrong-ca'))).toBe(false);
  });

  it('a token bound to one node cannot join another', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-bound']);
    const edge = startEdgeCore(cloud, { nodeName: 'gw-intruder', token });
    expect(await edge.process.waitForExit()).not.toBe(0);
    const failure = await edge.process.waitForLog((l) => l.msg === 'edgecore could not start', 'start failure');
    expect(String(failure.error)).toMatch(/gw-bound|another node|bound/i);
  });
});

describe('hub security - identity', () => {
  it('a certificate for node A claiming node B in the URL, the headers or a message is refused', async () => {
    const cloud = await startCloudCore();
    const tls = await joinedCertificate(cloud, 'node-a');
    const url = (node: string) => `wss://127.0.0.1:${cloud.ports.websocket}/e632aba927ea4ac2b575ec1603d56f10/${node}/events`;

    // URL claims node-b
    await expect(dialWebSocketHub({ url: url('node-b'), tls, nodeName: 'node-b', handshakeTimeoutMs: 10_000 })).rejects.toThrow(/403|refused|mismatch/i);
    // header claims node-b
    const headerStatus = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url('node-a'), { ...tls, headers: { node_id: 'node-b' } });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => {
        socket.close();
        resolve(101);
      });
      socket.on('error', () => undefined);
    });
    expect(headerStatus).toBe(403);

    // a message whose resource names node-b gets an error answer, and nothing reaches node-b
    const connection = await dialWebSocketHub({ url: url('node-a'), tls, nodeName: 'node-a', handshakeTimeoutMs: 10_000 });
    const answers: Message[] = [];
    connection.on('message', (m) => answers.push(m));
    const claim = newMessage({ source: 'edged', group: 'resource', operation: 'update', resource: 'node/node-b/default/pod/x', content: {} });
    await connection.send(claim);
    await waitFor(() => answers.some((a) => a.header.parent_msg_id === claim.header.msg_id), 'refusal answer');
    expect(answers.find((a) => a.header.parent_msg_id === claim.header.msg_id)?.route.operation).toBe('error');
    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricValue(metrics, 'kedge_cloudhub_refused_messages_total', { reason: 'invalid-resource' })).toBe(1);
    expect(metricSum(metrics, 'kedge_cloudhub_refused_connections_total')).toBeGreaterThanOrEqual(2);
    await connection.close();
  });
});

/** Frames the strict decoder refuses: random text, random JSON, and valid frames mutated. */
function refusedFrames(count: number): string[] {
  const valid = encodeMessage(newMessage({ source: 'edged', group: 'resource', operation: 'update', resource: 'default/pod/p', content: { a: 1 } }));
  const mutated = fc
    .tuple(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 20 }), fc.string({ maxLength: 8 }))
    .map(([at, cut, insert]) => valid.slice(0, at) + insert + valid.slice(Math.min(valid.length, at + cut)));
  const shapes = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    mutated,
    fc.record({ header: fc.anything(), route: fc.anything(), content: fc.anything() }).map((r) => JSON.stringify(r) ?? ''),
  );
  const frames: string[] = [];
  let seed = 42;
  while (frames.length < count) {
    for (const frame of fc.sample(shapes, { numRuns: 2_000, seed: seed++ })) {
      try {
        decodeMessage(frame);
      } catch {
        frames.push(frame);
        if (frames.length === count) break;
      }
    }
  }
  return frames;
}

describe('hub security - garbage', () => {
  it('10,000 random and mutated frames are all refused and counted, and a good edge is not disturbed', async () => {
    const cloud = await startCloudCore();
    const fuzzTls = await joinedCertificate(cloud, 'fuzzer');
    const good = startEdgeCore(cloud, { nodeName: 'gw-good', token: await issueToken(cloud, ['--node', 'gw-good']) });
    await cloud.process.waitForLog(isNodeConnected('gw-good'), 'good edge');
    const keepalivesBefore = metricValue(await fetchMetrics(cloud.ports.metrics), 'kedge_cloudhub_messages_total', { direction: 'up', operation: 'keepalive' }) ?? 0;

    const frames = refusedFrames(10_000);
    const socket = new WebSocket(`wss://127.0.0.1:${cloud.ports.websocket}/p/fuzzer/events`, fuzzTls);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    for (const frame of frames) socket.send(frame);

    // raw TLS garbage and plaintext on the hub port: refused at the handshake
    for (let i = 0; i < 5; i++) {
      const raw = tlsConnect({ host: '127.0.0.1', port: cloud.ports.websocket, rejectUnauthorized: false });
      raw.on('error', () => undefined);
      raw.write(Buffer.from(`GET / HTTP/1.1\r\n\r\n${'\u0000'.repeat(i * 100)}`));
      raw.end();
    }

    await waitFor(
      async () => (metricValue(await fetchMetrics(cloud.ports.metrics), 'kedge_cloudhub_bad_frames_total', { transport: 'websocket' }) ?? 0) >= 10_000,
      '10,000 bad frames counted',
      { timeoutMs: 120_000 },
    );
    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricValue(metrics, 'kedge_cloudhub_bad_frames_total', { transport: 'websocket' })).toBe(10_000);
    socket.close();

    // the good edge kept its one session and its keepalives kept arriving
    expect(cloud.process.running).toBe(true);
    expect(cloud.process.logs.filter(isNodeConnected('gw-good')).length).toBe(1);
    await waitFor(
      async () =>
        (metricValue(await fetchMetrics(cloud.ports.metrics), 'kedge_cloudhub_messages_total', { direction: 'up', operation: 'keepalive' }) ?? 0) >
        keepalivesBefore + 1,
      'keepalives from the good edge continue',
    );
    expect(good.process.running).toBe(true);
    const sessions = (await (await fetch(`http://127.0.0.1:${cloud.ports.metrics}/debug/nodes`)).json()) as Array<{ nodeName: string }>;
    expect(sessions.map((s) => s.nodeName)).toContain('gw-good');
  });
});
