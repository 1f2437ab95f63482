// The `$hw/events/...` contract: the exact strings KubeEdge's mappers and applications use.
import { describe, expect, it } from 'vitest';
import { deviceTopic, membershipTopic, parseRequestTopic, requestFilters } from '../src/index';

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
});
