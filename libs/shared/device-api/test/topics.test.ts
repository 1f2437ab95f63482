// The `$hw/events/...` contract: the exact strings KubeEdge's mappers and applications use.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEVICE_ACTIONS, DEVICE_TOPIC_PREFIX, deviceTopic, membershipTopic, parseRequestTopic, requestFilters, type DeviceAction } from '../src/index';

/** The plain reading of a device request topic (split into levels), which parseRequestTopic must agree with. */
function referenceDeviceRequest(topic: string, legacyNamespace: string | undefined) {
  if (!topic.startsWith(DEVICE_TOPIC_PREFIX)) return undefined;
  const levels = topic.slice(DEVICE_TOPIC_PREFIX.length).split('/');
  const action = levels.slice(-2).join('/') as DeviceAction;
  if (!DEVICE_ACTIONS.includes(action)) return undefined;
  const id = levels.slice(0, -2);
  const [first, second] = id;
  if (id.length === 2 && first && second) return { kind: 'device', action, namespace: first, name: second, topicId: `${first}/${second}` };
  if (id.length === 1 && first && legacyNamespace !== undefined) return { kind: 'device', action, namespace: legacyNamespace, name: first, topicId: first };
  return undefined;
}

describe('device topics', () => {
  it('builders - device and membership topics are KubeEdge v1.17+ strings', () => {
    expect(deviceTopic('default/thermo', 'twin/update')).toBe('$hw/events/device/default/thermo/twin/update');
    expect(deviceTopic('default/thermo', 'twin/update/result')).toBe('$hw/events/device/default/thermo/twin/update/result');
    expect(deviceTopic('default/thermo', 'twin/update/delta')).toBe('$hw/events/device/default/thermo/twin/update/delta');
    expect(deviceTopic('default/thermo', 'twin/update/document')).toBe('$hw/events/device/default/thermo/twin/update/document');
    expect(deviceTopic('default/thermo', 'twin/get/result')).toBe('$hw/events/device/default/thermo/twin/get/result');
    expect(deviceTopic('default/thermo', 'state/update')).toBe('$hw/events/device/default/thermo/state/update');
    expect(deviceTopic('default/thermo', 'updated')).toBe('$hw/events/device/default/thermo/updated');
    expect(deviceTopic('thermo', 'twin/update/delta')).toBe('$hw/events/device/thermo/twin/update/delta');
    expect(membershipTopic('gw-1', 'get')).toBe('$hw/events/node/gw-1/membership/get');
    expect(membershipTopic('gw-1', 'get/result')).toBe('$hw/events/node/gw-1/membership/get/result');
    expect(membershipTopic('gw-1', 'updated')).toBe('$hw/events/node/gw-1/membership/updated');
  });

  it('filters - requests in the namespaced form, plus the single-segment form when legacy', () => {
    expect(requestFilters(false)).toEqual([
      '$hw/events/device/+/+/twin/update',
      '$hw/events/device/+/+/twin/get',
      '$hw/events/device/+/+/state/update',
      '$hw/events/device/+/+/state/get',
      '$hw/events/node/+/membership/get',
    ]);
    expect(requestFilters(true)).toEqual([
      '$hw/events/device/+/+/twin/update',
      '$hw/events/device/+/+/twin/get',
      '$hw/events/device/+/+/state/update',
      '$hw/events/device/+/+/state/get',
      '$hw/events/device/+/twin/update',
      '$hw/events/device/+/twin/get',
      '$hw/events/device/+/state/update',
      '$hw/events/device/+/state/get',
      '$hw/events/node/+/membership/get',
    ]);
  });

  it('parse - requests are read back with namespace, name and the id as it appeared; anything else is undefined', () => {
    expect(parseRequestTopic('$hw/events/device/default/thermo/twin/update', undefined)).toEqual({
      kind: 'device',
      action: 'twin/update',
      namespace: 'default',
      name: 'thermo',
      topicId: 'default/thermo',
    });
    expect(parseRequestTopic('$hw/events/device/lab/fan/state/get', undefined)).toMatchObject({ action: 'state/get', namespace: 'lab', name: 'fan' });
    expect(parseRequestTopic('$hw/events/node/gw-1/membership/get', undefined)).toEqual({ kind: 'membership-get', node: 'gw-1' });
    expect(parseRequestTopic('$hw/events/device/thermo/twin/get', 'default')).toEqual({ kind: 'device', action: 'twin/get', namespace: 'default', name: 'thermo', topicId: 'thermo' });
    for (const other of [
      '$hw/events/device/thermo/twin/get',
      '$hw/events/device/default/thermo/twin/update/result',
      '$hw/events/device/default/thermo/twin/unknown',
      '$hw/events/device/a/b/c/twin/update',
      '$hw/events/node/gw-1/membership/get/result',
      '$hw/events/node/gw-1/membership/updated',
      'devices/default/thermo/twin/update',
    ]) {
      expect(parseRequestTopic(other, undefined), other).toBeUndefined();
    }
  });

  it('parse - agrees with the level-by-level reading on random device topics, legacy or not', () => {
    const level = fc.constantFrom('', 'default', 'thermo', 'twin', 'update', 'get', 'state', 'result');
    const topic = fc.array(level, { minLength: 0, maxLength: 6 }).map((levels) => `${DEVICE_TOPIC_PREFIX}${levels.join('/')}`);
    fc.assert(
      fc.property(topic, fc.constantFrom(undefined, 'default'), (t, legacy) => {
        expect(parseRequestTopic(t, legacy)).toEqual(referenceDeviceRequest(t, legacy));
      }),
      { numRuns: 5_000 },
    );
  });
});
