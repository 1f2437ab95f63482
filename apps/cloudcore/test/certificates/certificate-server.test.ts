import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { TLSSocket, connect } from 'node:tls';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  JoinTokenLedger,
  createCertificateAuthority,
  createJoinToken,
  createNodeKeyAndCsr,
  describeCertificate,
  isIssuedBy,
  issueJoinToken,
  issueServerCertificate,
  nodeNameOf,
  signNodeCsr,
  type CertificateAuthority,
  type IssuedCertificate,
} from '@kedge/pki';
import { startCertificateServer, type CertificateServer, type CertificateServerEvent } from '../../src/certificates/index';
import { call, type Answer } from './https-client';

let authority: CertificateAuthority;
let otherAuthority: CertificateAuthority;
let serverCert: IssuedCertificate;
let dir: string;
let server: CertificateServer;
let events: CertificateServerEvent[];
let ledger: JoinTokenLedger;
/** the names the server is told exist (Node objects or hub sessions) */
let existingNodes: Set<string>;

beforeAll(async () => {
  [authority, otherAuthority] = await Promise.all([createCertificateAuthority(), createCertificateAuthority()]);
  serverCert = await issueServerCertificate(authority, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'] });
});

beforeEach(async () => {
  dir = await mkdtemp(joinPath(tmpdir(), 'kedge-cert-server-'));
  events = [];
  ledger = new JoinTokenLedger(dir);
  existingNodes = new Set();
  server = await startCertificateServer({
    host: '127.0.0.1',
    port: 0,
    authority,
    serverCert,
    ledger,
    nodeExists: async (nodeName) => existingNodes.has(nodeName),
    nodeCertValidityDays: 30,
    onEvent: (event) => events.push(event),
  });
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** a registered token, as `kedgeadm token create` makes it */
async function tokenFor(binding: { nodeName: string } | { nodePattern: string; count: number }, ttlSeconds = 600): Promise<string> {
  return (await createJoinToken(authority, ledger, { ttlSeconds, ...binding })).token;
}

async function joinAs(
  nodeName: string,
  token: string,
  csrFor = nodeName,
  key?: { keyPem: string; csrPem: string },
): Promise<Answer & { keyPem: string }> {
  const { keyPem, csrPem } = key ?? (await createNodeKeyAndCsr(csrFor));
  const answer = await call(server.port, authority.certPem, {
    method: 'POST',
    path: '/edge.crt',
    headers: { Authorization: `Bearer ${token}`, NodeName: nodeName },
    body: csrPem,
  });
  return { ...answer, keyPem };
}

async function rotate(nodeName: string, current: { certPem: string; keyPem: string }): Promise<Answer> {
  const { csrPem } = await createNodeKeyAndCsr(nodeName);
  return call(server.port, authority.certPem, {
    method: 'POST',
    path: '/edge.crt',
    headers: { NodeName: nodeName },
    body: csrPem,
    clientCertificate: current,
  });
}

/** Sends `text` on a fresh socket once it is connected and returns whatever comes back before the close. */
function rawExchange(open: () => Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = open();
    const chunks: Buffer[] = [];
    socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => socket.write(text));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset is an acceptable way to be refused
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const refusals = (): string[] => events.flatMap((event) => (event.type === 'refused' ? [event.reason] : []));

describe('certificate server', () => {
  test('certificate server - serves the CA as PEM, and as DER when asked for application/pkix-cert', async () => {
    const pem = await call(server.port, authority.certPem, { path: '/ca.crt' });
    expect(pem.status).toBe(200);
    expect(pem.headers['content-type']).toContain('text/plain');
    expect(pem.text).toBe(authority.certPem);
    const der = await call(server.port, authority.certPem, { path: '/ca.crt', headers: { Accept: 'application/pkix-cert' } });
    expect(der.headers['content-type']).toBe('application/pkix-cert');
    expect(der.raw.equals(new X509Certificate(authority.certPem).raw)).toBe(true);
  });

  test('certificate server - a valid token gets a certificate for the node, and an issued event', async () => {
    const answer = await joinAs('edge-1', await tokenFor({ nodeName: 'edge-1' }));
    expect(answer.status).toBe(200);
    expect(isIssuedBy(answer.text, authority.certPem)).toBe(true);
    expect(await nodeNameOf(answer.text)).toBe('edge-1');
    const description = describeCertificate(answer.text);
    expect(description.commonName).toBe('system:node:edge-1');
    expect((description.notAfter.getTime() - Date.now()) / 86_400_000).toBeCloseTo(30, 1);
    expect(events).toEqual([
      { type: 'issued', nodeName: 'edge-1', serialNumber: description.serialNumber, via: 'token', remoteAddress: '127.0.0.1' },
    ]);
  });

  test('certificate server - KubeEdge style GET with a body is accepted too', async () => {
    const { csrPem } = await createNodeKeyAndCsr('edge-1');
    const answer = await call(server.port, authority.certPem, {
      method: 'GET',
      path: '/edge.crt',
      headers: { Authorization: `Bearer ${await tokenFor({ nodeName: 'edge-1' })}`, NodeName: 'edge-1' },
      body: csrPem,
    });
    expect(answer.status).toBe(200);
    expect(await nodeNameOf(answer.text)).toBe('edge-1');
  });

  test('certificate server - expired, forged, wrong-CA and garbled tokens get 401 naming the reason and the fix', async () => {
    const expired = issueJoinToken(authority, { ttlSeconds: 60, nodeName: 'edge-1', now: new Date(Date.now() - 3_600_000) });
    const valid = await tokenFor({ nodeName: 'edge-1' });
    const [hash, claims, mac] = valid.split('.');
    const forgedClaims = Buffer.from(
      JSON.stringify({ ...(JSON.parse(Buffer.from(claims ?? '', 'base64url').toString()) as object), node: 'edge-1', exp: 9_999_999_999 }),
    ).toString('base64url');
    const cases: Array<[string, string]> = [
      [expired, 'EXPIRED'],
      [`${hash}.${forgedClaims}.${mac}`, 'BAD_SIGNATURE'],
      [issueJoinToken(otherAuthority, { ttlSeconds: 600, nodeName: 'edge-1' }), 'WRONG_CA'],
      ['definitely-not-a-token', 'MALFORMED'],
    ];
    for (const [token, code] of cases) {
      const answer = await joinAs('edge-1', token);
      expect(answer.status, code).toBe(401);
      expect(answer.headers['www-authenticate']).toContain('Bearer');
      expect(answer.json.error).toBe(code);
      expect(answer.json.message).toContain('kedgeadm token create');
    }
    expect(refusals()).toEqual(['EXPIRED', 'BAD_SIGNATURE', 'WRONG_CA', 'MALFORMED']);
    expect(events.every((event) => event.type === 'refused' && event.nodeName === 'edge-1')).toBe(true);
  });

  test('certificate server - a node token joins its node once: another key is refused with 403, the same key may retry', async () => {
    const token = await tokenFor({ nodeName: 'edge-a' });
    const key = await createNodeKeyAndCsr('edge-a');
    const first = await joinAs('edge-a', token, 'edge-a', key);
    expect(first.status).toBe(200);
    existingNodes.add('edge-a'); // it registered meanwhile: the retry of its own join still goes through
    const retry = await joinAs('edge-a', token, 'edge-a', key);
    expect(retry.status).toBe(200);
    expect(await nodeNameOf(retry.text)).toBe('edge-a');
    const otherKey = await joinAs('edge-a', token);
    expect([otherKey.status, otherKey.json.error]).toEqual([403, 'TOKEN_ALREADY_USED']);
    expect(otherKey.json.message).toContain('kubectl delete node edge-a');
  });

  test('certificate server - a token for a node that exists (and did not join with it) is refused with 409', async () => {
    existingNodes.add('control-plane-1');
    const answer = await joinAs('control-plane-1', await tokenFor({ nodePattern: 'control-*', count: 3 }));
    expect([answer.status, answer.json.error]).toEqual([409, 'NODE_EXISTS']);
    expect(refusals()).toEqual(['NODE_EXISTS']);
  });

  test('certificate server - when the node check cannot answer, the join is refused with 503 and the token is not used', async () => {
    await server.close();
    let apiDown = true;
    server = await startCertificateServer({
      host: '127.0.0.1',
      port: 0,
      authority,
      serverCert,
      ledger,
      nodeExists: async () => {
        if (apiDown) throw new Error('connect ECONNREFUSED');
        return false;
      },
      onEvent: (event) => events.push(event),
    });
    const token = await tokenFor({ nodeName: 'edge-1' });
    const refused = await joinAs('edge-1', token);
    expect([refused.status, refused.json.error, refused.headers['retry-after']]).toEqual([503, 'NODE_CHECK_FAILED', '5']);
    apiDown = false;
    expect((await joinAs('edge-1', token)).status).toBe(200);
  });

  test('certificate server - a deleted token and an unregistered one are refused as UNKNOWN_TOKEN', async () => {
    const token = await tokenFor({ nodeName: 'edge-1' });
    const [record] = await ledger.list();
    expect(await ledger.delete(record!.id)).toBe(true);
    const deleted = await joinAs('edge-1', token);
    expect([deleted.status, deleted.json.error]).toEqual([401, 'UNKNOWN_TOKEN']);
    const unregistered = await joinAs('edge-1', issueJoinToken(authority, { ttlSeconds: 600, nodeName: 'edge-1' }));
    expect([unregistered.status, unregistered.json.error]).toEqual([401, 'UNKNOWN_TOKEN']);
  });

  test('certificate server - a token bound to another node and a CSR for another node get 403', async () => {
    const bound = await joinAs('edge-2', await tokenFor({ nodeName: 'edge-1' }));
    expect(bound.status).toBe(403);
    expect(bound.json.error).toBe('WRONG_NODE');
    const mismatch = await joinAs('edge-1', await tokenFor({ nodeName: 'edge-1' }), 'edge-9');
    expect(mismatch.status).toBe(403);
    expect(mismatch.json.error).toBe('SUBJECT_MISMATCH');
  });

  test('certificate server - a CSR refused for its content does not use up the token', async () => {
    const token = await tokenFor({ nodePattern: 'edge-*', count: 1 });
    expect((await joinAs('edge-a', token, 'edge-x')).status).toBe(403);
    expect((await joinAs('edge-b', token)).status).toBe(200);
  });

  test('certificate server - rotation with the current certificate gives a new certificate with another serial', async () => {
    const joined = await joinAs('edge-1', await tokenFor({ nodeName: 'edge-1' }));
    const rotated = await rotate('edge-1', { certPem: joined.text, keyPem: joined.keyPem });
    expect(rotated.status).toBe(200);
    expect(await nodeNameOf(rotated.text)).toBe('edge-1');
    expect(describeCertificate(rotated.text).serialNumber).not.toBe(describeCertificate(joined.text).serialNumber);
    expect(events.at(-1)).toMatchObject({ type: 'issued', nodeName: 'edge-1', via: 'certificate' });
  });

  test('certificate server - rotation with a certificate of another node, or of another CA, is refused', async () => {
    const joined = await joinAs('edge-1', await tokenFor({ nodeName: 'edge-1' }));
    const asOther = await rotate('edge-2', { certPem: joined.text, keyPem: joined.keyPem });
    expect(asOther.status).toBe(403);
    expect(asOther.json.error).toBe('CERTIFICATE_FOR_ANOTHER_NODE');

    const foreign = await createNodeKeyAndCsr('edge-1');
    const foreignCert = await signNodeCsr(otherAuthority, foreign.csrPem, { nodeName: 'edge-1' });
    const untrusted = await rotate('edge-1', { certPem: foreignCert, keyPem: foreign.keyPem });
    expect(untrusted.status).toBe(401);
    expect(untrusted.json.error).toBe('CERTIFICATE_NOT_TRUSTED');

    const anonymous = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers: { NodeName: 'edge-1' }, body: foreign.csrPem });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error).toBe('NO_CREDENTIALS');
  });

  test('certificate server - an expired node certificate cannot rotate', async () => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr('edge-1');
    const expired = await signNodeCsr(authority, csrPem, { nodeName: 'edge-1', validityDays: 1, now: new Date(Date.now() - 3 * 86_400_000) });
    const answer = await rotate('edge-1', { certPem: expired, keyPem });
    expect(answer.status).toBe(401);
    expect(answer.json.error).toBe('CERTIFICATE_NOT_TRUSTED');
    expect(answer.json.message).toMatch(/expired/i);
  });

  test('certificate server - oversized and garbage requests get 4xx and the server keeps serving', async () => {
    const token = await tokenFor({ nodeName: 'edge-1' });
    const headers = { Authorization: `Bearer ${token}`, NodeName: 'edge-1' };
    const big = 'A'.repeat(100 * 1024);
    const declared = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers, body: big });
    expect([declared.status, declared.json.error]).toEqual([413, 'BODY_TOO_LARGE']);
    const streamed = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers, body: big, chunked: true });
    expect([streamed.status, streamed.json.error]).toEqual([413, 'BODY_TOO_LARGE']);

    const garbage = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers, body: '\u0000\u00ff garbage \u{1F4A3}' });
    expect([garbage.status, garbage.json.error]).toEqual([400, 'MALFORMED_CSR']);
    const pemGarbage = '-----BEGIN CERTIFICATE REQUEST-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END CERTIFICATE REQUEST-----\n';
    expect((await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers, body: pemGarbage })).json.error).toBe('MALFORMED_CSR');

    const noName = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers: { Authorization: `Bearer ${token}` }, body: 'x' });
    expect([noName.status, noName.json.error]).toEqual([400, 'MALFORMED_REQUEST']);
    const badName = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers: { ...headers, NodeName: '../../etc' }, body: 'x' });
    expect([badName.status, badName.json.error]).toEqual([400, 'INVALID_NODE_NAME']);
    const basic = await call(server.port, authority.certPem, { method: 'POST', path: '/edge.crt', headers: { ...headers, Authorization: 'Basic Zm9vOmJhcg==' }, body: 'x' });
    expect([basic.status, basic.json.error]).toEqual([401, 'NO_CREDENTIALS']);

    expect((await call(server.port, authority.certPem, { path: '/nope' })).status).toBe(404);
    const put = await call(server.port, authority.certPem, { method: 'PUT', path: '/edge.crt', body: 'x' });
    expect([put.status, put.headers['allow']]).toEqual([405, 'POST, GET']);
    expect((await call(server.port, authority.certPem, { method: 'DELETE', path: '/ca.crt' })).status).toBe(405);

    // broken HTTP inside TLS, then bytes that are not even TLS: both refused, neither stops the server
    const httpAnswer = await rawExchange(() => connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }), 'GARBAGE / HTTP/9.9\r\n\r\n');
    expect(httpAnswer).toMatch(/^HTTP\/1\.1 400/);
    await rawExchange(() => netConnect({ host: '127.0.0.1', port: server.port }), 'this is not a TLS ClientHello\r\n\r\n');

    const afterwards = await joinAs('edge-1', token);
    expect(afterwards.status).toBe(200);
    expect(refusals()).toEqual([
      'BODY_TOO_LARGE',
      'BODY_TOO_LARGE',
      'MALFORMED_CSR',
      'MALFORMED_CSR',
      'MALFORMED_REQUEST',
      'INVALID_NODE_NAME',
      'NO_CREDENTIALS',
      'NOT_FOUND',
      'METHOD_NOT_ALLOWED',
      'METHOD_NOT_ALLOWED',
      'MALFORMED_REQUEST',
      'TLS_HANDSHAKE_FAILED',
    ]);
  });

  test('certificate server - a listener that throws does not affect the answer', async () => {
    await server.close();
    server = await startCertificateServer({
      host: '127.0.0.1',
      port: 0,
      authority,
      serverCert,
      ledger,
      nodeExists: async () => false,
      onEvent: () => {
        throw new Error('metrics are broken');
      },
    });
    expect((await joinAs('edge-1', await tokenFor({ nodeName: 'edge-1' }))).status).toBe(200);
    expect((await call(server.port, authority.certPem, { path: '/nope' })).status).toBe(404);
  });

  test('certificate server - close() does not wait for clients that connect and say nothing', async () => {
    const idle = netConnect({ host: '127.0.0.1', port: server.port });
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('connect', resolve));
    const closed = await Promise.race([server.close().then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 2000, 'hanging'))]);
    expect(closed).toBe('closed');
    idle.destroy();
  });

  test('certificate server - a second server on a taken port fails with a typed error', async () => {
    const error = await startCertificateServer({
      host: '127.0.0.1',
      port: server.port,
      authority,
      serverCert,
      ledger,
      nodeExists: async () => false,
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'CertificateServerListenError', code: 'LISTEN_FAILED' });
    expect((error as Error).message).toContain('EADDRINUSE');
  });
});
