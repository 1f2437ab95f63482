// MetaManager with a real store, router and a recording fake hub: ACK only after commit, the version
// rules as seen by the cloud, refusal of bad messages, and the outbox's send/settle rules.
import Database from 'better-sqlite3';
import { Operation, newErrorResponse, newResponse, type Message } from '@kedge/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { BadReportError } from '../src/index';
import { Cleanup, downMessage, metricValue, startEdge, statusReport, waitFor, type Edge } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function repliesTo(edge: Edge, request: Message): Message[] {
  return edge.hub.sent.filter((message) => message.header.parent_msg_id === request.header.msg_id);
}

function reportsFor(edge: Edge, resource: string): Message[] {
  return edge.hub.sent.filter((message) => message.route.operation === 'update' && message.route.resource === resource);
}

describe('MetaManager resync', () => {
  it('inventory - every connect sends what the store holds, with cloud resourceVersions, and nothing deleted', async () => {
    const edge = startEdge(cleanup, { connected: false });
    await edge.router.dispatch(downMessage({ name: 'web', rv: '41' }));
    await edge.router.dispatch(downMessage({ name: 'db', rv: '9007199254740993' }));
    await edge.router.dispatch(downMessage({ name: 'gone', rv: '50' }));
    await edge.router.dispatch(downMessage({ operation: 'delete', name: 'gone', rv: '50' }));
    edge.hub.setConnected(true);
    const inventories = () => edge.hub.inventories;
    await waitFor(() => inventories().length === 1, 'the inventory');
    expect(inventories()[0]?.route).toMatchObject({ operation: 'query', group: 'resource', resource: 'null/inventory/gw-1' });
    expect(inventories()[0]?.content).toEqual({
      items: [
        { type: 'pod', namespace: 'default', name: 'db', resourceVersion: '9007199254740993' },
        { type: 'pod', namespace: 'default', name: 'web', resourceVersion: '41' },
      ],
    });
    edge.hub.setConnected(false);
    edge.hub.setConnected(true);
    await waitFor(() => inventories().length === 2, 'a second inventory after the reconnect');
  });
});

describe('MetaManager down messages', () => {
  it('ack - the OK response is sent only after the object is committed (visible to another connection)', async () => {
    const edge = startEdge(cleanup);
    const observed: (string | undefined)[] = [];
    edge.hub.onSend = (message) => {
      if (message.route.operation !== Operation.Response) return;
      const other = new Database(edge.file, { readonly: true });
      try {
        const row = other.prepare('SELECT CAST(resource_version AS TEXT) AS rv FROM objects WHERE type = ? AND name = ?').get('pod', 'web') as { rv: string } | undefined;
        observed.push(row?.rv);
      } finally {
        other.close();
      }
    };
    const insert = downMessage({ name: 'web', rv: '41' });
    await edge.router.dispatch(insert);
    const [ack] = repliesTo(edge, insert);
    expect(ack?.route).toMatchObject({ operation: 'response', group: 'resource', resource: 'default/pod/web' });
    expect(ack?.content).toBe('OK');
    expect(observed).toEqual(['41']);
    expect(await metricValue(edge.registry, 'kedge_metamanager_applied_total', { operation: 'insert', result: 'created' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_objects', { type: 'pod' })).toBe(1);
  });

  it('ack - the OK response waits for the group commit fsync: nothing the store wrote is still pending when it is sent', async () => {
    const edge = startEdge(cleanup);
    const pendingAtAck: number[] = [];
    edge.hub.onSend = (message) => {
      if (message.route.operation === Operation.Response) pendingAtAck.push(edge.store.pendingWrites);
    };
    const inserts = ['a', 'b', 'c'].map((name) => downMessage({ name, rv: '7' }));
    // three messages at once: each is committed at once, and they share the fsync their ACKs wait for
    await Promise.all(inserts.map((message) => edge.router.dispatch(message)));
    expect(inserts.map((message) => repliesTo(edge, message).map((reply) => reply.content))).toEqual([['OK'], ['OK'], ['OK']]);
    expect(pendingAtAck).toEqual([0, 0, 0]);
  });

  it('ack - duplicates, stale versions and deletes of unknown objects are acknowledged but not applied', async () => {
    const edge = startEdge(cleanup);
    await edge.router.dispatch(downMessage({ name: 'web', rv: '10', fields: { spec: { v: 'ten' } } }));
    const duplicate = downMessage({ name: 'web', rv: '10', fields: { spec: { v: 'dup' } } });
    const stale = downMessage({ operation: 'update', name: 'web', rv: '9', fields: { spec: { v: 'nine' } } });
    const unknownDelete = downMessage({ operation: 'delete', name: 'ghost', rv: '12' });
    for (const message of [duplicate, stale, unknownDelete]) {
      await edge.router.dispatch(message);
      expect(repliesTo(edge, message).map((reply) => [reply.route.operation, reply.content])).toEqual([['response', 'OK']]);
    }
    expect(edge.store.get('pod', 'default', 'web')?.object['spec']).toEqual({ v: 'ten' });
    expect(edge.store.localRevision).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_applied_total', { operation: 'insert', result: 'duplicate' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_applied_total', { operation: 'update', result: 'stale' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_applied_total', { operation: 'delete', result: 'not-found' })).toBe(1);
  });

  it('ack - offline, the change is still applied and the unsent ACK counted; the resend after reconnect is ACKed as duplicate', async () => {
    const edge = startEdge(cleanup, { connected: false });
    const insert = downMessage({ name: 'web', rv: '5' });
    await edge.router.dispatch(insert);
    expect(edge.store.get('pod', 'default', 'web')?.resourceVersion).toBe('5');
    expect(edge.hub.sent).toEqual([]);
    expect(await metricValue(edge.registry, 'kedge_metamanager_acks_unsent_total')).toBe(1);
    edge.hub.setConnected(true);
    await edge.router.dispatch(insert);
    expect(repliesTo(edge, insert).map((reply) => reply.content)).toEqual(['OK']);
    expect(await metricValue(edge.registry, 'kedge_metamanager_applied_total', { operation: 'insert', result: 'duplicate' })).toBe(1);
  });

  it('bad messages - refused with an error response naming the field, counted, never stored', async () => {
    const edge = startEdge(cleanup);
    const bad: [Message, string][] = [
      [downMessage({ name: 'web', rv: '1', content: ['not', 'an', 'object'] }), 'content'],
      [downMessage({ name: 'web', rv: '1', content: { spec: {} } }), 'content.metadata'],
      [downMessage({ name: 'web', rv: '1', content: { metadata: { name: 'db', namespace: 'default' } } }), 'content.metadata.name'],
      [downMessage({ name: 'web', rv: '1', content: { metadata: { name: 'web', namespace: 'prod' } } }), 'content.metadata.namespace'],
      [downMessage({ name: 'web', rv: '1', operation: 'upsert' }), 'route.operation'],
    ];
    for (const [message, field] of bad) {
      await edge.router.dispatch(message);
      const replies = repliesTo(edge, message);
      expect(replies.map((reply) => reply.route.operation), field).toEqual(['error']);
      expect(String(replies[0]?.content)).toContain(field);
    }
    expect(edge.store.countByType().size).toBe(0);
    expect(edge.store.localRevision).toBe(0);
    expect(await metricValue(edge.registry, 'kedge_metamanager_bad_messages_total', { field: 'content.metadata.name' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_bad_messages_total', { field: 'route.operation' })).toBe(1);
    const total = (await edge.registry.getSingleMetric('kedge_metamanager_bad_messages_total')?.get())?.values.reduce((sum, value) => sum + value.value, 0);
    expect(total).toBe(bad.length);
  });

  it('down - late replies and keepalives on the resource group are ignored, not answered', async () => {
    const edge = startEdge(cleanup);
    const orphan = newResponse(downMessage({ name: 'web', rv: '1' }), 'OK', 'cloudhub');
    await edge.router.dispatch(orphan);
    await edge.router.dispatch(newErrorResponse(downMessage({ name: 'web', rv: '1' }), 'late', 'cloudhub'));
    await edge.router.dispatch(downMessage({ operation: Operation.Keepalive, type: 'node', namespace: 'null', name: 'gw-1', content: 'ping' }));
    expect(edge.hub.sent).toEqual([]);
    expect(edge.store.localRevision).toBe(0);
  });

  it('stop - unregisters the resource group and refuses further reports', async () => {
    const edge = startEdge(cleanup);
    edge.manager.stop();
    expect(edge.router.groups()).not.toContain('resource');
    expect(() => edge.manager.report(statusReport('default/podstatus/web', {}))).toThrow(expect.objectContaining({ code: 'MANAGER_STOPPED' }));
  });
});

describe('MetaManager outbox', () => {
  it('outbox - three reports for the same pod while offline send one message, the latest, on connect', async () => {
    const edge = startEdge(cleanup, { connected: false });
    for (const phase of ['Pending', 'ContainerCreating', 'Running']) edge.manager.report(statusReport('default/podstatus/web', { phase }));
    expect(edge.store.outbox.depth()).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_outbox_depth')).toBe(1);
    edge.hub.setConnected(true);
    await waitFor(() => reportsFor(edge, 'default/podstatus/web').length === 1, 'the report to be sent');
    const sent = reportsFor(edge, 'default/podstatus/web');
    expect(sent.map((message) => message.content)).toEqual([{ phase: 'Running' }]);
    // still queued until the cloud answers
    expect(edge.store.outbox.depth()).toBe(1);
    await edge.router.dispatch(newResponse(sent[0] as Message, 'OK', 'cloudhub'));
    await waitFor(() => edge.store.outbox.depth() === 0, 'the answered report to leave the outbox');
    await edge.manager.flush();
    expect(edge.hub.sent).toHaveLength(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_outbox_sent_total')).toBe(1);
  });

  it('outbox - a report is sent only once it is on disk (group commit), not when it is queued', async () => {
    const edge = startEdge(cleanup);
    const pendingAtSend: number[] = [];
    edge.hub.onSend = (message) => {
      if (message.route.operation === 'update') pendingAtSend.push(edge.store.pendingWrites);
    };
    edge.manager.report(statusReport('default/podstatus/web', { phase: 'Running' }));
    // committed at once (another connection could read it), durable only after the fsync
    expect(edge.store.pendingWrites).toBe(1);
    await waitFor(() => reportsFor(edge, 'default/podstatus/web').length === 1, 'the report to be sent');
    expect(pendingAtSend).toEqual([0]);
  });

  it('outbox - reportMany queues several reports in one transaction, committed when it returns, latest per resource, in order', async () => {
    const edge = startEdge(cleanup, { connected: false });
    const seqs = edge.manager.reportMany([
      statusReport('default/twin/a', { v: 1 }),
      statusReport('default/twin/b', { v: 1 }),
      statusReport('default/twin/a', { v: 2 }),
    ]);
    expect(seqs).toHaveLength(3);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    // committed: another connection sees them now
    const other = new Database(edge.file, { readonly: true });
    try {
      const rows = other.prepare('SELECT resource FROM outbox ORDER BY seq').all() as { resource: string }[];
      expect(rows.map((row) => row.resource)).toEqual(['default/twin/b', 'default/twin/a']);
    } finally {
      other.close();
    }
    // in line: a (queued first, now its newer report), then b
    expect(edge.store.outbox.entries().map((entry) => [entry.resource, entry.message.content])).toEqual([
      ['default/twin/a', { v: 2 }],
      ['default/twin/b', { v: 1 }],
    ]);
    expect(() => edge.manager.reportMany([statusReport('default/twin/c', { v: 1 }), statusReport('default/twin/d', { bad: 1n })])).toThrow(BadReportError);
    expect(edge.store.outbox.depth()).toBe(2);
  });

  it('outbox - sends in the order of first enqueue: a replaced report keeps its place in line, with the newest content', async () => {
    const edge = startEdge(cleanup, { connected: false });
    edge.manager.report(statusReport('default/podstatus/a', { n: 1 }));
    edge.manager.report(statusReport('default/podstatus/b', { n: 2 }));
    edge.manager.report(statusReport('null/nodestatus/gw-1', { n: 3 }));
    edge.manager.report(statusReport('default/podstatus/a', { n: 4 }));
    edge.hub.setConnected(true);
    await waitFor(() => edge.hub.sent.length === 3, 'three reports');
    expect(edge.hub.sent.map((message) => [message.route.resource, message.content])).toEqual([
      ['default/podstatus/a', { n: 4 }],
      ['default/podstatus/b', { n: 2 }],
      ['null/nodestatus/gw-1', { n: 3 }],
    ]);
  });

  it('outbox - a resource reported faster than the link drains is not starved: each report replaces it in place and it goes in its turn', async () => {
    // one report in flight at a time, answered by hand; during each, a new resource is queued and then "hot" reports
    // again, as devices do every second while the link is slower than they are
    const edge = startEdge(cleanup, { connected: false, manager: { maxInFlight: 1 } });
    const report = (name: string, n: number) => edge.manager.report(statusReport(`default/podstatus/${name}`, { n }));
    report('x1', 0);
    report('hot', 0);
    report('x2', 0);
    edge.hub.setConnected(true);
    const order: string[] = [];
    for (let turn = 1; turn <= 5; turn++) {
      await waitFor(() => edge.hub.sent.length === turn, `report ${turn} sent`);
      const sent = edge.hub.sent[turn - 1] as Message;
      order.push(sent.route.resource.slice('default/podstatus/'.length));
      report(`x${turn + 2}`, 0);
      report('hot', turn);
      await edge.router.dispatch(newResponse(sent, 'OK', 'cloudhub'));
    }
    // moving each replacement to the back would send x1, x2, x3, ... and never hot; keeping an answered-but-replaced
    // report at the front would send hot every turn. Here hot goes in its place, and after its turn it queues again.
    expect(order).toEqual(['x1', 'hot', 'x2', 'x3', 'x4']);
    expect(edge.hub.sent[1]?.content).toEqual({ n: 1 });
  });

  it('outbox - survives closing and reopening the store, and is sent by the next edgecore', async () => {
    const first = startEdge(cleanup, { connected: false });
    first.manager.report(statusReport('null/nodestatus/gw-1', { ready: true }));
    first.manager.stop();
    first.store.close();
    const second = startEdge(cleanup, { file: first.file, connected: true });
    await waitFor(() => second.hub.sent.length === 1, 'the queued report after the restart');
    expect(second.hub.sent[0]?.content).toEqual({ ready: true });
    expect(second.hub.sent[0]?.header.sync).toBe(true);
  });

  it('outbox - a newer report queued while one is in flight is kept when the older one is answered', async () => {
    const edge = startEdge(cleanup);
    edge.manager.report(statusReport('default/podstatus/web', { phase: 'Pending' }));
    await waitFor(() => edge.hub.sent.length === 1, 'the first report');
    edge.manager.report(statusReport('default/podstatus/web', { phase: 'Running' }));
    await edge.router.dispatch(newResponse(edge.hub.sent[0] as Message, 'OK', 'cloudhub'));
    await waitFor(() => edge.hub.sent.length === 2, 'the newer report');
    expect(edge.store.outbox.entries().map((entry) => entry.message.content)).toEqual([{ phase: 'Running' }]);
    await edge.router.dispatch(newResponse(edge.hub.sent[1] as Message, 'OK', 'cloudhub'));
    await waitFor(() => edge.store.outbox.depth() === 0, 'an empty outbox');
  });

  it('outbox - a timeout keeps the report and records the attempt', async () => {
    const edge = startEdge(cleanup, { manager: { requestTimeoutMs: 50, retryBackoff: { initialMs: 600_000 } } });
    edge.manager.report(statusReport('default/podstatus/web', { phase: 'Running' }));
    await waitFor(async () => (await metricValue(edge.registry, 'kedge_metamanager_outbox_failures_total', { reason: 'timeout' })) === 1, 'a timeout');
    const [entry] = edge.store.outbox.entries();
    expect(entry?.attempts).toBe(1);
    expect(entry?.lastError).toMatch(/no reply within 50 ms/);
    await edge.manager.flush();
    // backing off: not sent again yet
    expect(edge.hub.sent).toHaveLength(1);
  });

  it('outbox - after a timeout the same report is retried with backoff and removed once answered', async () => {
    const edge = startEdge(cleanup, { manager: { requestTimeoutMs: 50, retryBackoff: { initialMs: 20, maxMs: 40 } } });
    edge.manager.report(statusReport('default/podstatus/web', { phase: 'Running' }));
    await waitFor(() => edge.hub.sent.length >= 2, 'a retry');
    const retry = edge.hub.sent.at(-1) as Message;
    expect(retry.header.msg_id).toBe(edge.hub.sent[0]?.header.msg_id);
    await edge.router.dispatch(newResponse(retry, 'OK', 'cloudhub'));
    await waitFor(() => edge.store.outbox.depth() === 0, 'the report to leave the outbox');
  });

  it('outbox - an error answer drops the report and counts it', async () => {
    const edge = startEdge(cleanup);
    edge.manager.report(statusReport('default/podstatus/web', { phase: 'Running' }));
    edge.manager.report(statusReport('default/podstatus/db', { phase: 'Running' }));
    await waitFor(() => edge.hub.sent.length === 2, 'both reports');
    await edge.router.dispatch(newErrorResponse(edge.hub.sent[0] as Message, 'pod web is not on this node', 'cloudhub'));
    await waitFor(() => edge.store.outbox.depth() === 1, 'the rejected report to be dropped');
    expect(edge.store.outbox.entries().map((entry) => entry.resource)).toEqual(['default/podstatus/db']);
    expect(await metricValue(edge.registry, 'kedge_metamanager_outbox_failures_total', { reason: 'rejected' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_metamanager_outbox_sent_total')).toBe(0);
  });

  it('outbox - while offline nothing is sent and nothing is lost; a link drop mid-flush keeps everything', async () => {
    const edge = startEdge(cleanup, { connected: false });
    edge.manager.report(statusReport('default/podstatus/a', { n: 1 }));
    edge.manager.report(statusReport('default/podstatus/b', { n: 2 }));
    await edge.manager.flush();
    expect(edge.hub.sent).toEqual([]);
    // the link comes up but dies on the first send
    edge.hub.onSend = () => {
      edge.hub.connected = false;
      throw new Error('socket closed');
    };
    edge.hub.setConnected(true);
    await edge.manager.flush();
    expect(edge.store.outbox.entries().map((entry) => [entry.resource, entry.attempts])).toEqual([
      ['default/podstatus/a', 0],
      ['default/podstatus/b', 0],
    ]);
    edge.hub.onSend = undefined;
    edge.hub.setConnected(true);
    await waitFor(() => edge.hub.sent.length === 2, 'both reports after the reconnect');
  });

  it('report - refuses reports that are not resource- or twin-group messages with a valid resource', () => {
    const edge = startEdge(cleanup);
    const wrongGroup = { ...statusReport('default/podstatus/web', {}), route: { source: 'edged', group: 'hub', operation: 'update', resource: 'default/podstatus/web' } };
    expect(() => edge.manager.report(wrongGroup)).toThrow(BadReportError);
    expect(() => edge.manager.report(statusReport('not a resource', {}))).toThrow(/route.resource/);
    expect(() => edge.manager.report(statusReport('default/podstatus/web', { big: 1n }))).toThrow(/content/);
    expect(edge.store.outbox.depth()).toBe(0);
  });

  it('report - accepts devicetwin reports (group twin) and sends them with their group, keyed apart from resource reports', async () => {
    const edge = startEdge(cleanup, { connected: false });
    const twin = { ...statusReport('default/twin/thermo-1', { state: 'online' }), route: { source: 'twin', group: 'twin', operation: 'update', resource: 'default/twin/thermo-1' } };
    edge.manager.report(twin);
    edge.manager.report(statusReport('default/podstatus/thermo-1', {}));
    expect(edge.store.outbox.depth()).toBe(2);
    edge.hub.setConnected(true);
    await waitFor(() => edge.hub.sent.length === 2, 'both reports');
    expect(edge.hub.sent.map((m) => m.route.group).sort()).toEqual(['resource', 'twin']);
  });

  it('queries - get and list answer from the local store while offline', async () => {
    const edge = startEdge(cleanup, { connected: false });
    await edge.router.dispatch(downMessage({ type: 'configmap', name: 'cfg', rv: '3', fields: { data: { k: 'v' } } }));
    await edge.router.dispatch(downMessage({ type: 'node', namespace: 'null', name: 'gw-1', operation: 'update', rv: '4' }));
    expect(edge.manager.get('configmap', 'default', 'cfg')?.object['data']).toEqual({ k: 'v' });
    expect(edge.manager.get('node', undefined, 'gw-1')?.name).toBe('gw-1');
    expect(edge.manager.list('configmap', 'default').map((stored) => stored.name)).toEqual(['cfg']);
    expect(edge.manager.list('configmap', 'other')).toEqual([]);
  });
});
