// SimulatedEdge against a bare hub listener standing in for the cloud: inventory on connect, store
// and ACK of down messages, counters, reconnect with the new inventory, and a cloud-side close.
import { afterEach, describe, expect, it } from 'vitest';
import { Group, Operation, newMessage, newResponse, type Message } from '@kedge/protocol';
import { listenHub, type Connection } from '@kedge/transport';
import { Cleanup, SimulatedEdge, createTestPki, waitFor, type ReceivedMessage } from '../src/index';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface FakeCloud {
  url: string;
  connections: Connection[];
  inventories: unknown[];
  acks: string[];
  upstream: Message[];
}

async function fakeCloud(server: Parameters<typeof listenHub>[1]['tls']): Promise<FakeCloud> {
  const listener = await listenHub('websocket', { host: '127.0.0.1', port: 0, tls: server });
  cleanup.add(() => listener.close());
  const cloud: FakeCloud = { url: `wss://127.0.0.1:${listener.port}`, connections: [], inventories: [], acks: [], upstream: [] };
  listener.onConnection((connection) => {
    cloud.connections.push(connection);
    connection.on('message', (message) => {
      if (message.route.operation === Operation.Response) {
        cloud.acks.push(message.header.parent_msg_id ?? '');
        return;
      }
      if (message.route.operation === Operation.Keepalive) return;
      cloud.upstream.push(message);
      if (message.route.operation === Operation.Query && message.route.resource.startsWith('null/inventory/')) cloud.inventories.push(message.content);
      void connection.send(newResponse(message, 'OK', 'edgecontroller'));
    });
  });
  return cloud;
}

const down = (operation: string, resource: string, resourceVersion: string, content: unknown = { metadata: { resourceVersion } }): Message =>
  newMessage({ source: 'edgecontroller', group: Group.Resource, operation, resource, content, resourceVersion });

describe('testkit - SimulatedEdge', () => {
  it('sends its inventory on connect, stores and ACKs down messages, and resyncs with the new inventory on reconnect', async () => {
    const pki = await createTestPki();
    const cloud = await fakeCloud(pki.server);
    const seen: ReceivedMessage[] = [];
    const edge = new SimulatedEdge({ nodeName: 'gw-1', hubUrl: cloud.url, tls: await pki.node('gw-1'), onReceived: (m) => seen.push(m) });
    cleanup.add(() => edge.disconnect());

    await edge.connect();
    expect(cloud.inventories).toEqual([{ items: [] }]);
    expect(edge.connected).toBe(true);

    const insert = down(Operation.Insert, 'apps/pod/p1', '5');
    const before = performance.now();
    await cloud.connections[0]!.send(insert);
    await cloud.connections[0]!.send(down(Operation.Update, 'apps/pod/p1', '5'));
    await waitFor(() => cloud.acks.length === 2, 'two ACKs');
    expect(cloud.acks[0]).toBe(insert.header.msg_id);
    expect(edge.store.get('pod/apps/p1')).toMatchObject({ type: 'pod', namespace: 'apps', name: 'p1', resourceVersion: '5' });
    expect(edge.store.get('pod/apps/p1')!.storedAt).toBeGreaterThanOrEqual(before);
    expect(edge.downMessages).toBe(2);
    expect(edge.redundantMessages).toBe(1);
    expect(seen.map((m) => [m.operation, m.key, m.previousResourceVersion, m.connection])).toEqual([
      ['insert', 'pod/apps/p1', undefined, 1],
      ['update', 'pod/apps/p1', '5', 1],
    ]);

    expect(await edge.register({ labels: { zone: 'z1' } })).toBe('OK');
    const registration = cloud.upstream.find((m) => m.route.resource === 'null/node/gw-1');
    expect(registration?.route.operation).toBe('insert');
    expect((registration?.content as { metadata: { labels: Record<string, string> } }).metadata.labels).toEqual({ 'kubernetes.io/hostname': 'gw-1', zone: 'z1' });

    await edge.reconnect();
    expect(edge.connectionCount).toBe(2);
    expect(cloud.inventories[1]).toEqual({ items: [{ type: 'pod', namespace: 'apps', name: 'p1', resourceVersion: '5' }] });
    await cloud.connections[1]!.send(down(Operation.Delete, 'apps/pod/p1', '6'));
    await waitFor(() => edge.store.size === 0, 'the delete');
    expect(edge.receivedOn(2).map((m) => `${m.operation} ${m.key}`)).toEqual(['delete pod/apps/p1']);
    expect(edge.remoteCloses).toBe(0);

    // the cloud drops the link: counted, requests fail fast, and a fresh connect works
    await cloud.connections[1]!.close('cloud goes away');
    await waitFor(() => !edge.connected, 'the edge to notice the close');
    expect(edge.remoteCloses).toBe(1);
    await expect(edge.request(Operation.Query, 'apps/configmap/c', null)).rejects.toThrow(/not connected/);
    await edge.connect();
    expect(cloud.inventories[2]).toEqual({ items: [] });
  });
});
