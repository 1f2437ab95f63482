// Malformed MQTT input: every bad payload on a twin topic gets an error result naming the field, is
// counted, stores nothing and leaves the broker serving; a short fast-check run throws random
// payloads at the update topic with the same expectations.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readValue, type DeviceRecord } from '../src/index';
import { Cleanup, Mapper, device, membershipMessage, metricValue, startEdge, topic, type Edge } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const ID = 'default/thermo-1';
const UPDATE = topic(ID, 'twin/update');
const RESULT = topic(ID, 'twin/update/result');

async function edgeWithThermostat(cleanupOf: Cleanup): Promise<{ edge: Edge; mapper: Mapper }> {
  // loopback clients may publish any device topic here: the twin (not the broker's topic rules) must ignore the odd ones
  const edge = await startEdge(cleanupOf, { maxPayloadBytes: 2048, anonymous: { publish: ['$hw/#', '#'], subscribe: ['$hw/#'] } });
  await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: 21 } })], '10'));
  return { edge, mapper: await Mapper.connect(cleanupOf, edge.url) };
}

describe('DeviceTwin malformed requests', () => {
  it('refusal - each malformed payload gets an error result naming the field; nothing is stored and the broker keeps serving', async () => {
    const { edge, mapper } = await edgeWithThermostat(cleanup);
    const before = JSON.stringify(edge.store.devices());
    const cases: [string, string | Buffer, number, string][] = [
      [UPDATE, 'not json {', 400, 'payload'],
      [UPDATE, Buffer.from([0xff, 0xfe, 0x00, 0x7b]), 400, 'payload'],
      [UPDATE, '[1,2]', 400, 'payload'],
      [UPDATE, 'null', 400, 'payload'],
      [UPDATE, '', 400, 'payload'],
      [UPDATE, JSON.stringify({ twin: 'x' }), 400, 'twin'],
      [UPDATE, JSON.stringify({ twin: {} }), 400, 'twin'],
      [UPDATE, JSON.stringify({ event_id: 5, twin: { label: { actual: { value: 'a' } } } }), 400, 'event_id'],
      [UPDATE, JSON.stringify({ clientToken: {}, twin: { label: { actual: { value: 'a' } } } }), 400, 'clientToken'],
      [UPDATE, JSON.stringify({ twin: { setpoint: null } }), 400, 'twin.setpoint'],
      [UPDATE, JSON.stringify({ twin: { setpoint: { actual: { value: '20' }, version: -1 } } }), 400, 'twin.setpoint.version'],
      [UPDATE, JSON.stringify({ twin: { setpoint: { actual: { value: '20' }, metadata: 'int' } } }), 400, 'twin.setpoint.metadata'],
      [UPDATE, '{"__proto__":{"polluted":1},"twin":{"__proto__":{"actual":{"value":1}}}}', 400, 'twin.__proto__'],
      [UPDATE, JSON.stringify({ twin: { label: { actual: { value: 'x'.repeat(3000) } } } }), 413, 'payload'],
      [topic('default/ghost', 'twin/update'), JSON.stringify({ twin: { label: { actual: { value: 'a' } } } }), 404, 'device'],
      [topic(ID, 'state/update'), '{}', 400, 'state'],
      [topic(ID, 'twin/get'), '{"event_id":', 400, 'payload'],
    ];
    for (const [requestTopic, payload, code, field] of cases) {
      const answer = await mapper.request(requestTopic, payload, `${requestTopic}/result`);
      expect({ requestTopic, code: answer['code'], field: answer['field'] }).toEqual({ requestTopic, code, field });
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(JSON.stringify(edge.store.devices())).toBe(before);
    expect(edge.reporter.messages).toHaveLength(0);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_requests_total', { action: 'twin_update', result: 'bad_payload' })).toBe(5);
    const ok = await mapper.request(UPDATE, { twin: { label: { actual: { value: 'still fine' } } } }, RESULT);
    expect(ok['code']).toBeUndefined();
  });

  it('unmatched topics - device topics with other suffixes or shapes are ignored, not answered', async () => {
    const { mapper } = await edgeWithThermostat(cleanup);
    for (const ignored of ['$hw/events/device/default/thermo-1/twin/unknown', '$hw/events/device/a/b/c/twin/update', '$hw/events/device/thermo-1/twin/update']) {
      await mapper.client.publishAsync(ignored, '{}', { qos: 1 });
    }
    await mapper.request(topic(ID, 'twin/get'), {}, topic(ID, 'twin/get/result'));
    expect(mapper.received.filter((message) => message.topic.endsWith('/result') && !message.topic.endsWith('twin/get/result'))).toEqual([]);
  });
});

describe('DeviceTwin random payloads', () => {
  const suite = new Cleanup();
  let edge: Edge;
  let mapper: Mapper;
  beforeAll(async () => {
    ({ edge, mapper } = await edgeWithThermostat(suite));
  });
  afterAll(() => suite.run());

  const names = fc.constantFrom('temperature', 'setpoint', 'power', 'label', 'humidity', '__proto__');
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.double(), fc.integer({ min: -100, max: 200 }), fc.boolean(), fc.constant(null), fc.anything({ maxDepth: 1 }));
  const entry = fc.oneof(
    fc.record({ actual: fc.record({ value }, { requiredKeys: [] }), expected: fc.anything({ maxDepth: 1 }), metadata: fc.anything({ maxDepth: 1 }), version: fc.anything({ maxDepth: 0 }) }, { requiredKeys: [] }),
    fc.anything({ maxDepth: 2 }),
  );
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.json({ maxDepth: 2 }),
    fc.record({ event_id: fc.anything({ maxDepth: 0 }), clientToken: fc.anything({ maxDepth: 0 }), twin: fc.dictionary(names, entry, { maxKeys: 3 }) }, { requiredKeys: ['twin'] }).map((body) => JSON.stringify(body)),
  );

  function allowed(devices: DeviceRecord[]): boolean {
    return devices.every((record) => record.twins.every((twin) => twin.reported === undefined || readValue(twin.reported.value, twin.property, 'v') === twin.reported.value));
  }

  it('fuzz - random payloads on the update topic: each gets a result (error or success), errors change nothing, no forbidden value is ever stored', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (body) => {
        const before = JSON.stringify(edge.store.devices());
        const answer = await mapper.request(UPDATE, body, RESULT);
        if (answer['code'] !== undefined) {
          expect(typeof answer['reason']).toBe('string');
          expect(JSON.stringify(edge.store.devices())).toBe(before);
        }
        expect(allowed(edge.store.devices())).toBe(true);
      }),
      { numRuns: 60 },
    );
    const ok = await mapper.request(topic(ID, 'twin/get'), {}, topic(ID, 'twin/get/result'));
    expect(Object.keys(ok['twin'] as object)).toHaveLength(4);
  });
});
