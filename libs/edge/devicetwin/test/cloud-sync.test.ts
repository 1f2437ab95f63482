// The cloud side of the twin: down messages (group `twin`) applied and ACKed, bad ones refused
// naming the field; reported values queued for the cloud through the injected reporter while the
// cloud is unreachable; and the reconnect rule: cloud wins for desired, edge wins for reported.
import { newMessage, type Message } from '@kedge/protocol';
import type { DevicesChangedEvent } from '../src/index';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, Mapper, NODE, device, deviceMessage, membershipMessage, metricValue, startEdge, topic } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const ID = 'default/thermo-1';

function repliesTo(answers: Message[], request: Message): Message[] {
  return answers.filter((answer) => answer.header.parent_msg_id === request.header.msg_id);
}

describe('DeviceTwin down messages', () => {
  it('ack - membership and device messages are answered OK once stored; duplicates and stale ones are answered but not applied', async () => {
    const edge = await startEdge(cleanup);
    const membership = membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: 20 } })], '10');
    await edge.router.dispatch(membership);
    expect(repliesTo(edge.answers, membership).map((m) => [m.route.operation, m.content, m.route.group])).toEqual([['response', 'OK', 'twin']]);
    const stale = deviceMessage(device({ name: 'thermo-1', rv: '9', desired: { setpoint: 29 } }));
    const duplicate = deviceMessage(device({ name: 'thermo-1', rv: '10', desired: { setpoint: 28 } }));
    for (const message of [stale, duplicate]) {
      await edge.router.dispatch(message);
      expect(repliesTo(edge.answers, message).map((m) => m.content)).toEqual(['OK']);
    }
    expect(edge.store.device(ID)?.twins.find((t) => t.name === 'setpoint')?.desired?.value).toBe(20);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_cloud_messages_total', { kind: 'device', result: 'stale' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_cloud_messages_total', { kind: 'device', result: 'duplicate' })).toBe(1);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_devices')).toBe(1);
  });

  it('events - listeners see what each accepted message changed and the raw Device objects the store now holds; stale ones are left out', async () => {
    const edge = await startEdge(cleanup);
    const events: DevicesChangedEvent[] = [];
    const off = edge.twin.onDevicesChanged((event) => void events.push(event));
    edge.twin.onDevicesChanged(() => {
      throw new Error('a broken listener');
    });
    const summary = () =>
      events.splice(0).map((event) => ({
        changes: event.changes.map((change) => `${change.reason} ${change.id}`),
        sources: [...event.sources].map(([id, raw]) => `${id}@${String(raw['resourceVersion'])}:${JSON.stringify(raw['protocol'] ?? null)}`),
      }));
    const withProtocol = (name: string, rv: string) => ({ ...device({ name, rv }), protocol: { protocolName: 'virtual', configData: { seed: rv } } });

    await edge.router.dispatch(membershipMessage([withProtocol('a', '3'), withProtocol('b', '4')], '10'));
    expect(summary()).toEqual([
      { changes: ['created default/a', 'created default/b'], sources: ['default/a@3:{"protocolName":"virtual","configData":{"seed":"3"}}', 'default/b@4:{"protocolName":"virtual","configData":{"seed":"4"}}'] },
    ]);
    await edge.router.dispatch(deviceMessage(withProtocol('a', '2')));
    await edge.router.dispatch(deviceMessage(withProtocol('a', '3')));
    expect(summary()).toEqual([{ changes: [], sources: ['default/a@3:{"protocolName":"virtual","configData":{"seed":"3"}}'] }]);
    await edge.router.dispatch(membershipMessage([withProtocol('b', '5')], '11'));
    expect(summary()).toEqual([{ changes: ['updated default/b', 'deleted default/a'], sources: ['default/b@5:{"protocolName":"virtual","configData":{"seed":"5"}}'] }]);
    await edge.router.dispatch(deviceMessage({ namespace: 'default', name: 'b', resourceVersion: '6' }, 'delete'));
    expect(summary()).toEqual([{ changes: ['deleted default/b'], sources: [] }]);
    expect(edge.twin.devices()).toEqual([]);
    off();
    await edge.router.dispatch(membershipMessage([withProtocol('c', '7')], '12'));
    expect(events).toEqual([]);
  });

  it('refusal - bad down messages get an error answer naming the field, are counted, and store nothing', async () => {
    const edge = await startEdge(cleanup);
    const withProperty = (property: Record<string, unknown>) => device({ name: 'd', rv: '1', properties: [{ name: 'p', type: 'INT', ...property } as never] });
    const cases: [Message, string][] = [
      [newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: 'null/membership/gw-2', content: { resourceVersion: '1', devices: [] } }), 'route.resource'],
      [newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: `null/membership/${NODE}`, content: { resourceVersion: '1' } }), 'content.devices'],
      [membershipMessage([device({ name: 'a', rv: '1' })], 'x1'), 'content.resourceVersion'],
      [membershipMessage([withProperty({ type: 'STREAM' })], '1'), 'content.devices[0].model.properties[0].type'],
      [membershipMessage([withProperty({ minimum: 10, maximum: 1 })], '1'), 'content.devices[0].model.properties[0].minimum'],
      [membershipMessage([device({ name: 'a', rv: '1', desired: { setpoint: 99 } })], '1'), 'content.devices[0].properties[0].desired.value'],
      [membershipMessage([device({ name: 'a', rv: '1', desired: { temperature: 20 } })], '1'), 'content.devices[0].properties[0].desired'],
      [membershipMessage([device({ name: 'a', rv: '1', desired: { nope: 1 } })], '1'), 'content.devices[0].properties[0].name'],
      [membershipMessage([device({ name: 'Bad_Name', rv: '1' })], '1'), 'content.devices[0].name'],
      [membershipMessage([device({ name: 'a', rv: '1' }), device({ name: 'a', rv: '2' })], '1'), 'content.devices[1]'],
      [newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: 'default/device/a', content: { ...device({ name: 'b', rv: '1' }) } }), 'content.name'],
      [newMessage({ source: 'devicecontroller', group: 'twin', operation: 'patch', resource: 'default/device/a', content: device({ name: 'a', rv: '1' }) }), 'route.operation'],
      [newMessage({ source: 'devicecontroller', group: 'twin', operation: 'update', resource: 'default/pod/a', content: {} }), 'route.resource'],
    ];
    for (const [message, field] of cases) {
      await edge.router.dispatch(message);
      const [reply] = repliesTo(edge.answers, message);
      expect({ operation: reply?.route.operation, field }).toEqual({ operation: 'error', field });
      expect(String(reply?.content)).toMatch(new RegExp(`^${field.replace(/[[\].]/g, '\\$&')}: `));
    }
    expect(edge.store.deviceCount()).toBe(0);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_cloud_messages_total', { kind: 'unknown', result: 'refused' })).toBe(cases.length);
  });
});

describe('DeviceTwin offline and reconnect', () => {
  it('offline - with the cloud unreachable twins keep answering and every reported change is queued as the device\'s whole reported state', async () => {
    const edge = await startEdge(cleanup, { answer: () => Promise.reject(new Error('cloud unreachable')) });
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: 20 } })], '10'));
    const mapper = await Mapper.connect(cleanup, edge.url);
    await mapper.request(topic(ID, 'twin/update'), { twin: { temperature: { actual: { value: '20.5' } } } }, topic(ID, 'twin/update/result'));
    await mapper.request(topic(ID, 'twin/update'), { twin: { setpoint: { actual: { value: '19' } } } }, topic(ID, 'twin/update/result'));
    await mapper.request(topic(ID, 'state/update'), { state: 'online' }, topic(ID, 'state/update/result'));
    const got = await mapper.request(topic(ID, 'twin/get'), {}, topic(ID, 'twin/get/result'));
    expect(got['twin']).toMatchObject({ setpoint: { expected: { value: '20' }, actual: { value: '19' } } });
    expect(edge.reporter.messages).toHaveLength(3);
    const latest = edge.reporter.latest('default/twin/thermo-1');
    expect(latest?.route).toEqual({ source: 'twin', group: 'twin', operation: 'update', resource: 'default/twin/thermo-1' });
    expect(latest?.content).toMatchObject({
      namespace: 'default',
      name: 'thermo-1',
      state: 'online',
      twin: { temperature: { actual: { value: '20.5', typed_value: 20.5 }, metadata: { type: 'float' } }, setpoint: { actual: { value: '19', typed_value: 19 }, version: 2 } },
    });
    // reports carry only the reported side: desired belongs to the cloud
    expect(JSON.stringify(latest?.content)).not.toContain('expected');
  });

  it('reconnect - cloud wins for desired, edge wins for reported: the cloud\'s list replaces desired and never touches reported; reportAll re-queues the edge\'s state', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: 20 } }), device({ name: 'idle', rv: '10' })], '10'));
    const mapper = await Mapper.connect(cleanup, edge.url);
    await mapper.request(topic(ID, 'twin/update'), { twin: { setpoint: { actual: { value: '23' } } } }, topic(ID, 'twin/update/result'));
    // after the reconnect the DeviceController sends the full list: desired changed in the cloud meanwhile,
    // and a stale `reported` in the cloud's copy is not part of the format and not applied
    const resync = device({ name: 'thermo-1', rv: '15', desired: { setpoint: 25 } });
    (resync['properties'] as Record<string, unknown>[])[0]!['reported'] = { value: '5' };
    await edge.router.dispatch(membershipMessage([resync, device({ name: 'idle', rv: '10' })], '15'));
    const setpoint = edge.store.device(ID)?.twins.find((t) => t.name === 'setpoint');
    expect(setpoint).toMatchObject({ desired: { value: 25 }, reported: { value: 23 } });
    const delta = await mapper.next(topic(ID, 'twin/update/delta'), 2);
    expect(delta['delta']).toEqual({ setpoint: '25' });
    edge.reporter.messages.length = 0;
    expect(edge.twin.reportAll()).toBe(1);
    expect(edge.reporter.messages[0]?.content).toMatchObject({ twin: { setpoint: { actual: { value: '23' } } } });
  });

  it('reporter failure - an outbox that refuses is counted and the mapper still gets its result', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10' })], '10'));
    edge.reporter.failing = true;
    const mapper = await Mapper.connect(cleanup, edge.url);
    const answer = await mapper.request(topic(ID, 'twin/update'), { twin: { label: { actual: { value: 'x' } } } }, topic(ID, 'twin/update/result'));
    expect(answer['code']).toBeUndefined();
    expect(await metricValue(edge.registry, 'kedge_devicetwin_reports_total', { result: 'failed' })).toBe(1);
  });

  it('reports - a burst of updates reaches an outbox with reportMany in few calls, latest per device, each queued before its PUBACK', async () => {
    const calls: Message[][] = [];
    const queued = (): Message[] => calls.flat();
    const reporter = {
      report: (message: Message): number => calls.push([message]),
      reportMany: (messages: Message[]): number[] => {
        calls.push(messages);
        return messages.map((_, i) => i);
      },
    };
    const edge = await startEdge(cleanup, { reporter });
    await edge.router.dispatch(membershipMessage([device({ name: 'a', rv: '1' }), device({ name: 'b', rv: '1' })], '1'));
    const mapper = await Mapper.connect(cleanup, edge.url);
    const valueIn = (message: Message | undefined): number => Number((message?.content as { twin?: { setpoint?: { actual?: { value?: string } } } }).twin?.setpoint?.actual?.value);
    const latestQueued = (name: string): number => valueIn(queued().filter((message) => message.route.resource === `default/twin/${name}`).at(-1));
    // 20 QoS 1 updates in flight at once, alternating devices: they arrive together and share turns
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const name = i % 2 === 0 ? 'a' : 'b';
        const value = 5 + i;
        await mapper.client.publishAsync(topic(`default/${name}`, 'twin/update'), JSON.stringify({ twin: { setpoint: { actual: { value: String(value) } } } }), { qos: 1 });
        // PUBACKed: its report is queued already (this value or a later one of the same device)
        expect(latestQueued(name)).toBeGreaterThanOrEqual(value);
      }),
    );
    expect(latestQueued('a')).toBe(23);
    expect(latestQueued('b')).toBe(24);
    // within one call, one report per device: the latest of that turn
    for (const call of calls) expect(new Set(call.map((message) => message.route.resource)).size).toBe(call.length);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_reports_total', { result: 'queued' })).toBe(queued().length);
  });
});
