// DeviceMethodRelay: cloud method calls relayed to a mapper over the real EventBus (aedes) and answered back,
// with a real mqtt.js client as the mapper. The relay answers only with the result carrying its own event_id.
import { DEVICE_METHOD_GROUP, DEVICE_METHOD_OPERATION, type DeviceMethodResult } from '@kedge/device-api';
import { Operation, newMessage, type Message } from '@kedge/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceMethodRelay } from '../src/index';
import { Cleanup, Mapper, device, membershipMessage, metricValue, silentLogger, startEdge, topic, waitFor } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const call = (name: string, content: unknown): Message =>
  newMessage({ source: 'devicecontroller', group: DEVICE_METHOD_GROUP, operation: DEVICE_METHOD_OPERATION, resource: `default/devicemethod/${name}`, content });

async function relayEdge() {
  const edge = await startEdge(cleanup);
  await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '1' })], '1'));
  const sent: Message[] = [];
  const relay = new DeviceMethodRelay({ router: edge.router, bus: edge.bus, send: async (m) => void sent.push(m), isMember: (id) => edge.store.device(id) !== undefined, logger: silentLogger, registry: edge.registry });
  cleanup.add(() => relay.close());
  const mapper = await Mapper.connect(cleanup, edge.url);
  return { edge, sent, mapper };
}

describe('devicetwin - device methods from the cloud', () => {
  it('method relay - the call reaches the mapper on its method topic; the result with the call\'s event_id goes back, others are ignored', async () => {
    const { edge, sent, mapper } = await relayEdge();
    mapper.client.on('message', (t, payload) => {
      if (t !== topic('default/thermo-1', 'method/heat')) return;
      const { event_id: eventId, values } = JSON.parse(payload.toString()) as { event_id: string; values: Record<string, string> };
      // another caller's answer first, then ours
      const other: DeviceMethodResult = { event_id: 'someone-else', timestamp: 0, method: 'heat', code: 500, results: {} };
      const ours: DeviceMethodResult = { event_id: eventId, timestamp: 1, method: 'heat', code: 200, results: { setpoint: { value: values['setpoint'] ?? '' } } };
      void mapper.client.publishAsync(`${t}/result`, JSON.stringify(other), { qos: 1 }).then(() => mapper.client.publishAsync(`${t}/result`, JSON.stringify(ours), { qos: 1 }));
    });
    const request = call('thermo-1', { method: 'heat', values: { setpoint: '21' }, timeoutMs: 10_000 });
    await edge.router.dispatch(request);
    await waitFor(() => sent.length === 1, 'the answer to the cloud');
    expect(sent[0]?.route.operation).toBe(Operation.Response);
    expect(sent[0]?.header.parent_msg_id).toBe(request.header.msg_id);
    expect(sent[0]?.content).toMatchObject({ method: 'heat', code: 200, results: { setpoint: { value: '21' } } });
    expect(mapper.on(topic('default/thermo-1', 'method/heat'))[0]?.body).toMatchObject({ event_id: `cloud-${request.header.msg_id}`, values: { setpoint: '21' } });
    expect(await metricValue(edge.registry, 'kedge_devicetwin_method_calls_total', { result: 'answered' })).toBe(1);
  });

  it('method relay - a device not bound here, a malformed call, or no mapper answering is an error reply naming it', async () => {
    const { edge, sent } = await relayEdge();
    await edge.router.dispatch(call('ghost', { method: 'heat', values: { setpoint: '21' }, timeoutMs: 1000 }));
    await edge.router.dispatch(call('thermo-1', { method: 'heat', values: { setpoint: 21 }, timeoutMs: 1000 }));
    await edge.router.dispatch(call('thermo-1', { method: 'heat', values: { setpoint: '21' }, timeoutMs: 300 }));
    await waitFor(() => sent.length === 3, 'three error replies');
    expect(sent.map((m) => m.route.operation)).toEqual([Operation.Error, Operation.Error, Operation.Error]);
    const reasons = sent.map((m) => String(m.content));
    expect(reasons).toContain('device default/ghost is not bound to this node');
    expect(reasons).toContain('device default/thermo-1: content.values.setpoint: expected a string of at most 4096 characters');
    expect(reasons.some((r) => /^device default\/thermo-1 method heat: no mapper answered within 300 ms/.test(r))).toBe(true);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_method_calls_total', { result: 'refused' })).toBe(2);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_method_calls_total', { result: 'timeout' })).toBe(1);
  });
});
