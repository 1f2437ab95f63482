// KubeEdge's DeviceTwin MQTT API against a real aedes broker (libs/edge/eventbus) and real mqtt.js
// clients: get, update → result / document / delta, versions and clientToken, typed values and
// range checks, device state, membership get/updated, and the KubeEdge ≤ 1.16 topic form.
import { connectAsync } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, Mapper, deviceMessage, device, membershipMessage, metricValue, startEdge, topic, waitFor, type Edge } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const ID = 'default/thermo-1';

async function edgeWithThermostat(options: Parameters<typeof startEdge>[1] = {}): Promise<{ edge: Edge; mapper: Mapper }> {
  const edge = await startEdge(cleanup, options);
  await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: '21', power: true } })], '10'));
  const mapper = await Mapper.connect(cleanup, edge.url);
  return { edge, mapper };
}

describe('DeviceTwin twin get', () => {
  it('get - returns every twin with desired from the cloud, KubeEdge string values, typed values, type metadata and versions', async () => {
    const { mapper } = await edgeWithThermostat();
    const answer = await mapper.request(topic(ID, 'twin/get'), { event_id: 'e1', timestamp: 1, clientToken: 'tok-1' }, topic(ID, 'twin/get/result'));
    expect(answer).toMatchObject({ event_id: 'e1', clientToken: 'tok-1' });
    const twin = answer['twin'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(twin).sort()).toEqual(['label', 'power', 'setpoint', 'temperature']);
    expect(twin['setpoint']).toMatchObject({ expected: { value: '21', typed_value: 21 }, optional: false, metadata: { type: 'int', unit: 'C' }, version: 1 });
    expect(twin['power']).toMatchObject({ expected: { value: 'true', typed_value: true }, metadata: { type: 'boolean' } });
    expect(twin['temperature']).toEqual({ optional: false, metadata: { type: 'float', unit: 'C' }, version: 0 });
    // an empty payload is a valid get (KubeEdge's clients sometimes send nothing)
    const empty = await mapper.request(topic(ID, 'twin/get'), '', topic(ID, 'twin/get/result'));
    expect(empty['event_id']).toBe('');
    expect(Object.keys(empty['twin'] as object)).toHaveLength(4);
  });
});

describe('DeviceTwin twin update', () => {
  it('update - a KubeEdge mapper payload (string value, metadata type) is stored typed; result, document and delta follow', async () => {
    const { edge, mapper } = await edgeWithThermostat();
    const update = { event_id: 'u1', timestamp: 1, twin: { temperature: { actual: { value: '21.5' }, metadata: { type: 'float' } }, setpoint: { actual: { value: '19' } } } };
    const answer = await mapper.request(topic(ID, 'twin/update'), update, topic(ID, 'twin/update/result'));
    expect(answer['event_id']).toBe('u1');
    expect(answer['code']).toBeUndefined();
    expect(answer['twin']).toMatchObject({ temperature: { actual: { value: '21.5', typed_value: 21.5 }, version: 1 }, setpoint: { actual: { value: '19', typed_value: 19 }, version: 2 } });
    const document = await mapper.next(topic(ID, 'twin/update/document'), 1);
    expect(document['twin']).toMatchObject({ temperature: { last: { version: 0 }, current: { actual: { value: '21.5' } } }, setpoint: { last: { expected: { value: '21' } }, current: { actual: { value: '19' } } } });
    const delta = await mapper.next(topic(ID, 'twin/update/delta'), 1);
    // setpoint wants 21 but is 19, power wants true and has no report
    expect(delta['delta']).toEqual({ setpoint: '21', power: 'true' });
    expect(edge.store.device(ID)?.twins.find((t) => t.name === 'temperature')?.reported?.value).toBe(21.5);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_requests_total', { action: 'twin_update', result: 'ok' })).toBe(1);
  });

  it('update - typed JSON values are accepted, and a delta stops once reported matches desired', async () => {
    const { mapper } = await edgeWithThermostat();
    await mapper.request(topic(ID, 'twin/update'), { twin: { setpoint: { actual: { value: 21 } }, power: { actual: { value: 'TRUE' } } } }, topic(ID, 'twin/update/result'));
    await mapper.next(topic(ID, 'twin/update/document'), 1);
    await mapper.request(topic(ID, 'twin/update'), { twin: { label: { actual: { value: 'lab' } } } }, topic(ID, 'twin/update/result'));
    await mapper.next(topic(ID, 'twin/update/document'), 2);
    // the document is published before the delta would be: none followed either update
    await mapper.request(topic(ID, 'twin/get'), {}, topic(ID, 'twin/get/result'));
    expect(mapper.on(topic(ID, 'twin/update/delta'))).toHaveLength(0);
  });

  it('listeners - a result or document no client subscribes to is neither built nor published; a client that subscribes later gets the next ones', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: '21' } })], '10'));
    const published = (): Promise<number> => metricValue(edge.registry, 'kedge_eventbus_messages_total', { direction: 'published' });
    const before = await published();
    // a mapper that reports and subscribes to nothing (KubeEdge's mappers do not read their results)
    const reporter = await connectAsync(edge.url, { reconnectPeriod: 0, connectTimeout: 5_000 });
    cleanup.add(() => reporter.endAsync(true));
    await reporter.publishAsync(topic(ID, 'twin/update'), JSON.stringify({ event_id: 'quiet', twin: { temperature: { actual: { value: '20' } } } }), { qos: 1 });
    // PUBACKed: stored, and its report queued for the cloud as before
    expect(edge.store.device(ID)?.twins.find((t) => t.name === 'temperature')?.reported?.value).toBe(20);
    await waitFor(() => edge.reporter.messages.length === 1, 'the report for the cloud');

    const app = await connectAsync(edge.url, { reconnectPeriod: 0, connectTimeout: 5_000 });
    cleanup.add(() => app.endAsync(true));
    const seen: { topic: string; body: Record<string, unknown> }[] = [];
    app.on('message', (received, payload) => void seen.push({ topic: received, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await app.subscribeAsync([topic(ID, 'twin/update/document'), topic(ID, 'twin/update/result')], { qos: 1 });
    await reporter.publishAsync(topic(ID, 'twin/update'), JSON.stringify({ event_id: 'heard', twin: { temperature: { actual: { value: '22.5' } } } }), { qos: 1 });
    await waitFor(() => seen.length === 2, 'the result and the document of the second update');
    expect(seen.map((m) => m.topic)).toEqual([topic(ID, 'twin/update/result'), topic(ID, 'twin/update/document')]);
    expect(seen[0]?.body).toMatchObject({ event_id: 'heard', twin: { temperature: { actual: { value: '22.5' }, version: 2 } } });
    expect(seen[1]?.body['twin']).toMatchObject({ temperature: { last: { actual: { value: '20' } }, current: { actual: { value: '22.5' } } } });
    // the first update's result, document and delta and the second's delta had no subscriber: only these two went out
    expect((await published()) - before).toBe(2);
    expect(await metricValue(edge.registry, 'kedge_devicetwin_requests_total', { action: 'twin_update', result: 'ok' })).toBe(2);
  });

  it('versions - an update naming the current version is applied, a stale one is refused with 409 and changes nothing; clientToken is echoed', async () => {
    const { edge, mapper } = await edgeWithThermostat();
    const ok = await mapper.request(topic(ID, 'twin/update'), { clientToken: 'c-1', twin: { setpoint: { actual: { value: '20' }, version: 1 } } }, topic(ID, 'twin/update/result'));
    expect(ok).toMatchObject({ clientToken: 'c-1', twin: { setpoint: { version: 2 } } });
    const stale = await mapper.request(topic(ID, 'twin/update'), { event_id: 'late', clientToken: 'c-2', twin: { setpoint: { actual: { value: '25' }, version: 1 }, label: { actual: { value: 'x' } } } }, topic(ID, 'twin/update/result'));
    expect(stale).toMatchObject({ event_id: 'late', clientToken: 'c-2', code: 409, error_code: 'VERSION_CONFLICT', field: 'twin.setpoint.version' });
    const twins = edge.store.device(ID)?.twins;
    expect(twins?.find((t) => t.name === 'setpoint')?.reported?.value).toBe(20);
    expect(twins?.find((t) => t.name === 'label')?.reported).toBeUndefined();
    expect(await metricValue(edge.registry, 'kedge_devicetwin_requests_total', { action: 'twin_update', result: 'version_conflict' })).toBe(1);
  });

  it('types - values are converted by the model type and limits enforced; each refusal names the field and stores nothing', async () => {
    const { edge, mapper } = await edgeWithThermostat();
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ setpoint: { actual: { value: '20.5' } } }, 400, 'WRONG_TYPE', 'twin.setpoint.actual.value'],
      [{ setpoint: { actual: { value: '31' } } }, 400, 'OUT_OF_RANGE', 'twin.setpoint.actual.value'],
      [{ setpoint: { actual: { value: 4 } } }, 400, 'OUT_OF_RANGE', 'twin.setpoint.actual.value'],
      [{ temperature: { actual: { value: 'hot' } } }, 400, 'WRONG_TYPE', 'twin.temperature.actual.value'],
      [{ temperature: { actual: { value: '126' } } }, 400, 'OUT_OF_RANGE', 'twin.temperature.actual.value'],
      [{ power: { actual: { value: 'maybe' } } }, 400, 'WRONG_TYPE', 'twin.power.actual.value'],
      [{ label: { actual: { value: 5 } } }, 400, 'WRONG_TYPE', 'twin.label.actual.value'],
      [{ setpoint: { actual: { value: '20' }, metadata: { type: 'string' } } }, 400, 'WRONG_TYPE', 'twin.setpoint.metadata.type'],
      [{ setpoint: { expected: { value: '22' } } }, 403, 'NOT_ALLOWED', 'twin.setpoint.expected'],
      [{ humidity: { actual: { value: '50' } } }, 400, 'UNKNOWN_PROPERTY', 'twin.humidity'],
      [{ setpoint: { actual: {} } }, 400, 'BAD_FIELD', 'twin.setpoint.actual.value'],
    ];
    for (const [twin, code, errorCode, field] of cases) {
      // a valid property beside the bad one: all or nothing
      const answer = await mapper.request(topic(ID, 'twin/update'), { twin: { label: { actual: { value: 'should-not-stick' } }, ...twin } }, topic(ID, 'twin/update/result'));
      expect({ code: answer['code'], error_code: answer['error_code'], field: answer['field'] }).toEqual({ code, error_code: errorCode, field });
      expect(String(answer['reason'])).toContain(field);
    }
    expect(edge.store.device(ID)?.twins.every((t) => t.reported === undefined)).toBe(true);
    expect(mapper.on(topic(ID, 'twin/update/document'))).toHaveLength(0);
  });
});

describe('DeviceTwin device state', () => {
  it('state - update stores online/offline with last_online, get returns it, a bad state is refused', async () => {
    const { edge, mapper } = await edgeWithThermostat();
    const online = await mapper.request(topic(ID, 'state/update'), { event_id: 's1', state: 'online' }, topic(ID, 'state/update/result'));
    expect(online).toMatchObject({ event_id: 's1', device: { name: 'thermo-1', namespace: 'default', state: 'online' } });
    expect(String((online['device'] as Record<string, unknown>)['last_online'])).toMatch(/^\d{4}-\d\d-\d\dT/);
    const bad = await mapper.request(topic(ID, 'state/update'), { state: 'sleepy' }, topic(ID, 'state/update/result'));
    expect(bad).toMatchObject({ code: 400, field: 'state' });
    const got = await mapper.request(topic(ID, 'state/get'), {}, topic(ID, 'state/get/result'));
    expect(got).toMatchObject({ device: { state: 'online' } });
    expect(edge.store.device(ID)?.state).toBe('online');
  });
});

describe('DeviceTwin membership', () => {
  it('membership - get lists this node\'s devices; adding and removing devices publishes membership/updated; other nodes are not answered', async () => {
    const { edge, mapper } = await edgeWithThermostat();
    const listed = await mapper.request('$hw/events/node/gw-1/membership/get', { event_id: 'm1' }, '$hw/events/node/gw-1/membership/get/result');
    expect(listed['event_id']).toBe('m1');
    expect(listed['devices']).toEqual([expect.objectContaining({ id: ID, name: 'thermo-1', namespace: 'default', model: 'thermostat', state: 'unknown', attributes: { vendor: { value: 'acme', optional: true, metadata: { type: 'string' } } } })]);
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10' }), device({ name: 'fan', namespace: 'plant', rv: '12' })], '12'));
    const added = await mapper.next('$hw/events/node/gw-1/membership/updated', 1);
    expect(added).toMatchObject({ added_devices: [{ id: 'plant/fan' }], removed_devices: [] });
    await edge.router.dispatch(deviceMessage({ namespace: 'default', name: 'thermo-1', resourceVersion: '13' }, 'delete'));
    const removed = await mapper.next('$hw/events/node/gw-1/membership/updated', 2);
    expect(removed).toMatchObject({ added_devices: [], removed_devices: [{ id: ID }] });
    const gone = await mapper.request(topic(ID, 'twin/get'), {}, topic(ID, 'twin/get/result'));
    expect(gone).toMatchObject({ code: 404, error_code: 'UNKNOWN_DEVICE', field: 'device' });
    await mapper.client.publishAsync('$hw/events/node/gw-2/membership/get', '{}', { qos: 1 });
    await mapper.request('$hw/events/node/gw-1/membership/get', {}, '$hw/events/node/gw-1/membership/get/result');
    expect(mapper.on('$hw/events/node/gw-2/membership/get/result')).toHaveLength(0);
  });

  it('desired - a cloud change of desired publishes the device updated event, a document and a delta', async () => {
    const { edge, mapper } = await edgeWithThermostat();
    await mapper.request(topic(ID, 'twin/update'), { twin: { setpoint: { actual: { value: 21 } }, power: { actual: { value: true } } } }, topic(ID, 'twin/update/result'));
    await edge.router.dispatch(deviceMessage(device({ name: 'thermo-1', rv: '11', desired: { setpoint: 24, power: true }, attributes: { vendor: 'acme', site: 'b2' } })));
    const updated = await mapper.next(topic(ID, 'updated'), 1);
    expect(updated['attributes']).toMatchObject({ site: { value: 'b2' } });
    const document = await mapper.next(topic(ID, 'twin/update/document'), 2);
    expect(document['twin']).toEqual({ setpoint: expect.objectContaining({ last: expect.objectContaining({ expected: expect.objectContaining({ value: '21' }) }), current: expect.objectContaining({ expected: expect.objectContaining({ value: '24' }), actual: expect.objectContaining({ value: '21' }) }) }) });
    const delta = await mapper.next(topic(ID, 'twin/update/delta'), 1);
    expect(delta['delta']).toEqual({ setpoint: '24' });
  });
});

describe('DeviceTwin legacy topics', () => {
  it('legacy - with legacyTopics, `$hw/events/device/<name>/...` addresses devices in the default namespace and is answered on that form', async () => {
    const { mapper } = await edgeWithThermostat({ legacyTopics: true });
    const answer = await mapper.request(topic('thermo-1', 'twin/update'), { twin: { setpoint: { actual: { value: '18' } } } }, topic('thermo-1', 'twin/update/result'));
    expect(answer['twin']).toMatchObject({ setpoint: { actual: { value: '18' } } });
    await waitFor(() => mapper.on(topic('thermo-1', 'twin/update/delta')).length === 1 && mapper.on(topic(ID, 'twin/update/delta')).length === 1, 'the delta on both forms');
  });
});
