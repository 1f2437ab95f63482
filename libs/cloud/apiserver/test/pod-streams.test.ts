// pods/log and pods/exec go to the registered PodStreamHandler once the request is authenticated,
// authorized and the pod found; without a handler they get a 503 Status (see bad-input.test.ts).
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PodStreamTarget } from '../src/index';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
  await test.request('POST', '/api/v1/namespaces/default/pods', {
    body: { metadata: { name: 'app' }, spec: { nodeName: 'edge-1', containers: [{ name: 'main', image: 'busybox' }] } },
  });
});

afterAll(async () => {
  await test.close();
});

describe('pod stream handler', () => {
  it('serves kubectl logs through the handler with the pod, node and query', async () => {
    const targets: PodStreamTarget[] = [];
    const unregister = test.server.registerPodStreamHandler({
      streamLog(target, _request, response) {
        targets.push(target);
        response.writeHead(200, { 'content-type': 'text/plain' }).end(`log of ${target.podName} on ${target.nodeName}\n`);
      },
    });
    try {
      const logs = await test.kubectl(['logs', 'app', '-c', 'main', '--tail=5']);
      expect(logs.stdout).toBe('log of app on edge-1\n');
      expect(targets[0]?.query.get('container')).toBe('main');
      expect(targets[0]?.query.get('tailLines')).toBe('5');
      expect(targets[0]?.user.name).toBe('system:admin');
    } finally {
      unregister();
    }
    expect((await test.request('GET', '/api/v1/namespaces/default/pods/app/log')).status).toBe(503);
  });

  it('hands an upgraded exec connection to the handler', async () => {
    const seen: string[] = [];
    const unregister = test.server.registerPodStreamHandler({
      upgrade(subresource, target, request, socket) {
        seen.push(`${subresource} ${target.podName} ${new URL(request.url ?? '/', 'http://x').searchParams.getAll('command').join(' ')}`);
        socket.end('HTTP/1.1 101 Switching Protocols\r\nupgrade: test\r\nconnection: upgrade\r\n\r\n');
      },
    });
    try {
      const url = new URL(test.server.url);
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: url.hostname, port: Number(url.port), ca: test.server.caCertPem }, () => {
          socket.write(
            `POST /api/v1/namespaces/default/pods/app/exec?command=echo&command=hi HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${test.server.adminToken}\r\n` +
              'connection: Upgrade\r\nupgrade: SPDY/3.1\r\ncontent-length: 0\r\n\r\n',
          );
        });
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
      expect(reply.startsWith('HTTP/1.1 101')).toBe(true);
      expect(seen).toEqual(['exec app echo hi']);
    } finally {
      unregister();
    }
  });
});
