// Threat: someone on the path between a gateway and cloudcore answers the unauthenticated GET /ca.crt
// of a join. The join token pins the CA's hash; the attacker keeps the real CA (so the hash matches)
// and adds its own CA in a second PEM block that OpenSSL also loads, or serves a non-CA certificate the
// token was made to pin. A join that trusted the body would send the token to the attacker and store
// the attacker's CA as trusted for every later connection. Both `kedgeadm join` and edgecore's own
// bootstrap must refuse before sending the token, and write nothing.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { caCertificateHash, type CertificateAuthority } from '@kedge/pki';
import { runKedgeadm, tempDir, type KedgeProcess } from '../e2e/harness';
import { issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from '../e2e/cluster';
import { relabelPem, selfSignedLeaf, startHostileCertificateServer, type HostileCertificateServer } from './hostile-certificate-server';

interface Attack {
  /** what the attacker serves at /ca.crt */
  what: string;
  body(realCaPem: string, attacker: CertificateAuthority, leafPem: string): string;
  /** the token was made to pin the attacker's own non-CA certificate, which it also serves TLS with */
  pinsLeaf?: boolean;
}

const attacks: Attack[] = [
  { what: 'the real CA plus its own CA in a second CERTIFICATE block', body: (real, attacker) => `${real}${attacker.certPem}` },
  { what: 'the real CA plus its own CA in a TRUSTED CERTIFICATE block', body: (real, attacker) => `${real}${relabelPem(attacker.certPem, 'TRUSTED CERTIFICATE')}` },
  { what: 'the real CA plus its own CA in an X509 CERTIFICATE block', body: (real, attacker) => `${real}${relabelPem(attacker.certPem, 'X509 CERTIFICATE')}` },
  { what: 'its own CA in a TRUSTED CERTIFICATE block before the real CA', body: (real, attacker) => `${relabelPem(attacker.certPem, 'TRUSTED CERTIFICATE')}\n${real}` },
  { what: 'a leaf certificate that the token pins, which is not a CA', body: (_real, _attacker, leaf) => leaf, pinsLeaf: true },
];

let cloud: CloudCoreHandle;
let realCaPem: string;

beforeAll(async () => {
  cloud = await startCloudCore();
  realCaPem = readFileSync(join(cloud.dataDir, 'pki', 'ca.crt'), 'utf8');
});
afterAll(async () => {
  await cloud.process.stop('SIGTERM');
});

let attacker: HostileCertificateServer | undefined;
// not the harness's stopAll: that would also stop the cloudcore all tests share
let edgeProcess: KedgeProcess | undefined;
afterEach(async () => {
  await edgeProcess?.stop('SIGKILL');
  edgeProcess = undefined;
  await attacker?.close();
  attacker = undefined;
});

/** A token of the real cluster for `nodeName`, re-pinned to another hash when the attack needs it. */
async function victimToken(attack: Attack, nodeName: string, leafPem: string): Promise<string> {
  const token = await issueToken(cloud, ['--node', nodeName]);
  if (attack.pinsLeaf !== true) return token;
  return [caCertificateHash(leafPem), ...token.split('.').slice(1)].join('.');
}

/** The attacker on the path, serving TLS with its own leaf when the token pins that leaf. */
async function startAttacker(attack: Attack): Promise<{ server: HostileCertificateServer; leafPem: string }> {
  const leaf = await selfSignedLeaf();
  const server = await startHostileCertificateServer(
    `https://127.0.0.1:${cloud.ports.https}`,
    (authority) => attack.body(realCaPem, authority, leaf.certPem),
    attack.pinsLeaf === true ? leaf : undefined,
  );
  return { server, leafPem: leaf.certPem };
}

function expectOnlyTheCaWasFetched(server: HostileCertificateServer): void {
  expect(server.seen).toEqual([{ method: 'GET', url: '/ca.crt', authorization: undefined }]);
}

describe('threat - joining: CA pinning', () => {
  it.each(attacks)('attack - kedgeadm join through a server on the path serving $what is refused', async (attack) => {
    const { server, leafPem } = await startAttacker(attack);
    attacker = server;
    const token = await victimToken(attack, 'gw-pin-adm', leafPem);
    const prefix = tempDir('pin-adm');
    const dataDir = join(prefix, 'data');
    const result = await runKedgeadm([
      'join', '--cloud', '127.0.0.1', '--https-port', String(attacker.port), '--ws-port', String(cloud.ports.websocket),
      '--node-name', 'gw-pin-adm', '--token', token, '--prefix', prefix, '--data-dir', dataDir,
    ]);
    expect(result.code, result.stdout + result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(/refusing to join/);
    expectOnlyTheCaWasFetched(attacker);
    expect(readdirSync(prefix)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it.each(attacks)('attack - edgecore bootstrapping through a server on the path serving $what is refused', async (attack) => {
    const { server, leafPem } = await startAttacker(attack);
    attacker = server;
    const token = await victimToken(attack, 'gw-pin-edge', leafPem);
    const edge = startEdgeCore({ ...cloud, ports: { ...cloud.ports, https: attacker.port } }, { nodeName: 'gw-pin-edge', token });
    edgeProcess = edge.process;
    expect(await edge.process.waitForExit(), edge.process.describe()).not.toBe(0);
    const failure = await edge.process.waitForLog((l) => l.msg === 'edgecore could not start', 'the start failure');
    expect(JSON.stringify(failure)).toMatch(/refusing to join/);
    expectOnlyTheCaWasFetched(attacker);
    const pkiDir = join(edge.dataDir, 'pki');
    expect(existsSync(pkiDir) ? readdirSync(pkiDir) : []).toEqual([]);
  });
});
