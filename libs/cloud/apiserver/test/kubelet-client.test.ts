// The API server dials node kubelets as kube-apiserver does: pods/log proxied and streamed, exec
// upgraded and piped raw, nodes/proxy with nodes/proxy authorization, getText for metrics. The
// "kubelet" is a real HTTPS server on loopback with a serving certificate of its own CA, which checks
// the API server's kubelet-client certificate.
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate, type CertificateAuthority } from '@kedge/pki';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeletLocation, type KubeletClientOptions } from '../src/index';
import { startTestServer, type TestServer } from './harness';

interface SeenRequest {
  method: string;
  url: string;
  user: string;
  authorization: string | undefined;
}

interface FakeKubelet {
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

async function startKubelet(ca: CertificateAuthority, clientCa: CertificateAuthority): Promise<FakeKubelet> {
  const serving = await issueServerCertificate(ca, { commonName: 'kubelet', ipAddresses: ['127.0.0.1'] });
  const seen: SeenRequest[] = [];
  const record = (request: IncomingMessage): void => {
    const socket = request.socket as TLSSocket;
    seen.push({
      method: request.method ?? '',
      url: request.url ?? '',
      user: socket.authorized ? String(socket.getPeerCertificate().subject.CN) : 'anonymous',
      authorization: request.headers.authorization,
    });
  };
  const server: Server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true }, (request, response) => {
    record(request);
    if (request.url?.startsWith('/containerLogs/')) {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('line-one\n');
      setTimeout(() => response.end('line-two\n'), 50);
      return;
    }
    if (request.url === '/stats/summary') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ node: { nodeName: 'edge-1' } }));
      return;
    }
    if (request.url === '/metrics/resource') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('node_cpu_usage_seconds_total 1.5\n');
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
  });
  server.on('upgrade', (request: IncomingMessage, socket) => {
    record(request);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    // echo: whatever the client sends after the 101 comes back prefixed
    socket.on('data', (bytes: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), bytes])));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let test: TestServer;
let kubeletCa: CertificateAuthority;
let kubelet: FakeKubelet;
let clientOptions: KubeletClientOptions;

async function setNodeStatus(name: string, status: Record<string, unknown>): Promise<void> {
  const created = await test.request('POST', '/api/v1/nodes', { body: { metadata: { name } } });
  expect([201, 409]).toContain(created.status);
  const patched = await test.request('PATCH', `/api/v1/nodes/${name}/status`, { body: { status }, contentType: 'application/merge-patch+json' });
  expect(patched.status, patched.text).toBe(200);
}

function rawUpgrade(path: string, token: string, send: string): Promise<string> {
  const url = new URL(test.server.url);
  return new Promise<string>((resolve, reject) => {
    let data = '';
    const socket = connect({ host: url.hostname, port: Number(url.port), ca: test.server.caCertPem }, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: test\r\n` +
          'Sec-WebSocket-Protocol: v5.channel.k8s.io\r\nX-Stream-Protocol-Version: a\r\nX-Stream-Protocol-Version: b\r\n\r\n',
      );
    });
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString();
      if (data.includes('\r\n\r\n') && data.startsWith('HTTP/1.1 101') && !data.includes('echo:')) socket.write(send);
      if (data.includes(`echo:${send}`) || !data.startsWith('HTTP/1.1 101')) {
        if (data.includes('\r\n\r\n') && (data.includes(`echo:${send}`) || data.includes('}'))) socket.end();
      }
    });
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  kubeletCa = await createCertificateAuthority({ commonName: 'kubelet-ca' });
  const client = await issueClientCertificate(kubeletCa, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
  kubelet = await startKubelet(kubeletCa, kubeletCa);
  clientOptions = { clientCertPem: client.certPem, clientKeyPem: client.keyPem, caPem: kubeletCa.certPem };
  test = await startTestServer({ kubeletClient: clientOptions });
  await setNodeStatus('edge-1', {
    addresses: [
      { type: 'Hostname', address: 'edge-1' },
      { type: 'InternalIP', address: '127.0.0.1' },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: kubelet.port } },
  });
  const pod = await test.request('POST', '/api/v1/namespaces/default/pods', {
    body: { metadata: { name: 'app' }, spec: { nodeName: 'edge-1', containers: [{ name: 'main', image: 'busybox' }] } },
  });
  expect(pod.status).toBe(201);
});

afterAll(async () => {
  await test?.close();
  await kubelet?.close();
});

describe('kubelet client - node location', () => {
  const node = (addresses: Array<{ type: string; address: string }>, port?: number) => ({
    status: { addresses, ...(port === undefined ? {} : { daemonEndpoints: { kubeletEndpoint: { Port: port } } }) },
  });

  it('takes the first address of the first preferred type, and the daemon endpoint port', () => {
    const addresses = [
      { type: 'ExternalIP', address: '203.0.113.9' },
      { type: 'Hostname', address: 'gw-1' },
      { type: 'InternalIP', address: '10.0.0.7' },
      { type: 'InternalIP', address: '10.0.0.8' },
    ];
    expect(kubeletLocation(node(addresses, 10351), ['InternalIP', 'Hostname', 'ExternalIP'])).toEqual({ host: '10.0.0.7', port: 10351 });
    expect(kubeletLocation(node(addresses, 10351), ['Hostname', 'InternalIP'])).toEqual({ host: 'gw-1', port: 10351 });
    expect(kubeletLocation(node(addresses, 10351), ['ExternalIP'])).toEqual({ host: '203.0.113.9', port: 10351 });
  });

  it('uses 10250 when the port is 0 or missing, and names the known addresses when none is preferred', () => {
    expect(kubeletLocation(node([{ type: 'InternalIP', address: '10.0.0.7' }], 0), ['InternalIP']).port).toBe(10250);
    expect(kubeletLocation(node([{ type: 'InternalIP', address: '10.0.0.7' }]), ['InternalIP']).port).toBe(10250);
    expect(() => kubeletLocation(node([{ type: 'ExternalIP', address: '203.0.113.9' }]), ['InternalIP'])).toThrow(
      /no preferred addresses found; known addresses: .*203\.0\.113\.9/,
    );
  });
});

describe('kubelet client - through the API server', () => {
  it('kubectl logs is proxied to /containerLogs with the kubelet-client certificate, not the user\'s token', async () => {
    const logs = await test.kubectl(['logs', 'app', '--tail=5', '--timestamps']);
    expect(logs.stderr).toBe('');
    expect(logs.stdout).toBe('line-one\nline-two\n');
    const seen = kubelet.seen.find((r) => r.url.startsWith('/containerLogs/'));
    expect(seen).toEqual({ method: 'GET', url: '/containerLogs/default/app/main?timestamps=true&tailLines=5', user: 'kube-apiserver-kubelet-client', authorization: undefined });
  });

  it('exec is written to the kubelet with the client\'s upgrade headers, then piped raw both ways', async () => {
    const reply = await rawUpgrade('/api/v1/namespaces/default/pods/app/exec?command=echo&command=hi&stdin=true&stdout=true&tty=true', test.server.adminToken, 'ping');
    expect(reply.startsWith('HTTP/1.1 101')).toBe(true);
    expect(reply).toContain('echo:ping');
    const seen = kubelet.seen.find((r) => r.url.startsWith('/exec/'));
    expect(seen?.url).toBe('/exec/default/app/main?command=echo&command=hi&input=1&output=1&tty=1');
    expect(seen?.authorization).toBeUndefined();
  });

  it('nodes/proxy reaches the kubelet path; getText reads one as text', async () => {
    const summary = await test.kubectl(['get', '--raw', '/api/v1/nodes/edge-1/proxy/stats/summary']);
    expect(summary.stderr).toBe('');
    expect(JSON.parse(summary.stdout)).toEqual({ node: { nodeName: 'edge-1' } });
    expect(await test.server.kubeletText('edge-1', '/metrics/resource')).toBe('node_cpu_usage_seconds_total 1.5\n');
    const missing = await test.request('GET', '/api/v1/nodes/edge-1/proxy/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('404 page not found');
  });

  it('attack - a user without nodes/proxy is refused before anything is dialled', async () => {
    await test.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { metadata: { name: 'reader' } } });
    const token = test.server.createServiceAccountToken('default', 'reader');
    const before = kubelet.seen.length;
    const proxied = await test.request('GET', '/api/v1/nodes/edge-1/proxy/stats/summary', { token });
    expect(proxied.status).toBe(403);
    expect(proxied.json.message).toContain('cannot get resource "nodes/proxy"');
    const upgraded = await rawUpgrade('/api/v1/nodes/edge-1/proxy/exec/default/app/main?command=id', token, 'x');
    expect(upgraded.startsWith('HTTP/1.1 403')).toBe(true);
    expect(kubelet.seen.length).toBe(before);
  });

  it('attack - a kubelet whose serving certificate is not from the configured CA is not talked to', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'impostor-ca' });
    const impostor = await startKubelet(otherCa, kubeletCa);
    try {
      await setNodeStatus('edge-2', { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: impostor.port } } });
      await test.request('POST', '/api/v1/namespaces/default/pods', {
        body: { metadata: { name: 'on-impostor' }, spec: { nodeName: 'edge-2', containers: [{ name: 'main', image: 'busybox' }] } },
      });
      const logs = await test.request('GET', '/api/v1/namespaces/default/pods/on-impostor/log');
      expect(logs.status).toBe(500);
      expect(logs.json.message).toMatch(/^error dialing backend: .*(certificate|self.signed|issuer)/i);
      const exec = await rawUpgrade('/api/v1/namespaces/default/pods/on-impostor/exec?command=id&stdout=true', test.server.adminToken, 'x');
      expect(exec).toMatch(/^HTTP\/1.1 500/);
      expect(exec).toContain('error dialing backend');
      expect(impostor.seen).toEqual([]);
    } finally {
      await impostor.close();
    }
  });

  it('a node with no usable address, or no listening kubelet, gets kube-apiserver\'s errors', async () => {
    // a port nothing listens on: take one, then close it
    const closed = await startKubelet(kubeletCa, kubeletCa);
    await closed.close();
    await setNodeStatus('edge-3', { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: closed.port } } });
    await test.request('POST', '/api/v1/namespaces/default/pods', {
      body: { metadata: { name: 'far' }, spec: { nodeName: 'edge-3', containers: [{ name: 'main', image: 'busybox' }] } },
    });
    const refused = await test.request('GET', '/api/v1/namespaces/default/pods/far/log');
    expect(refused.status).toBe(500);
    expect(refused.json.message).toMatch(/^error dialing backend: .*ECONNREFUSED/);
    await setNodeStatus('edge-4', { addresses: [{ type: 'InternalDNS', address: 'x.internal' }] });
    const proxy = await test.request('GET', '/api/v1/nodes/edge-4/proxy/healthz');
    expect(proxy.status).toBe(500);
    expect(proxy.json.message).toContain('no preferred addresses found');
    const unknown = await test.request('GET', '/api/v1/nodes/edge-9/proxy/healthz');
    expect(unknown.status).toBe(404);
  });
});
