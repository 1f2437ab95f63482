import { describe, expect, it } from 'vitest';
import { TwinRefusedError, statusFromReport } from '../../src/index';

const device = { metadata: { name: 'd', namespace: 'default' }, spec: { deviceModelRef: { name: 'm' }, properties: [{ name: 'on', desired: { value: 'true' } }] } };

describe('devicecontroller status - from report', () => {
  it('keeps string values, stringifies typed ones, and pairs them with the desired values', () => {
    const status = statusFromReport(device, { state: 'online', twin: { on: { actual: { value: false }, metadata: { type: 'boolean' } }, level: { actual: { value: '3' } } } });
    expect(status).toEqual({
      state: 'online',
      twins: [
        { propertyName: 'level', reported: { value: '3', metadata: {} } },
        { propertyName: 'on', reported: { value: 'false', metadata: { type: 'boolean' } }, observedDesired: { value: 'true', metadata: {} } },
      ],
    });
  });

  it('refuses content that is not an object', () => {
    expect(() => statusFromReport(device, 'nope')).toThrow(TwinRefusedError);
    expect(() => statusFromReport(device, { twin: [] })).toThrow(/content.twin/);
  });
});
