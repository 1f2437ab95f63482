import { describe, expect, it } from 'vitest';
import type { Device, DeviceModel } from '@kedge/device-api';
import { membershipOf } from '../../src/index';

describe('devicecontroller membership - property visitors', () => {
  it('carries each property\'s visitors, cycles and pushMethod to the node (the edge mapper pushes from it)', () => {
    const pushMethod = { mqtt: { address: 'tcp://127.0.0.1:1883', topic: 'plant/t', qos: 1, retained: false }, dbMethod: { redis: { redisClientConfig: { addr: '127.0.0.1:6379' } } } };
    const device = {
      metadata: { name: 'plc', namespace: 'default', resourceVersion: '7' },
      spec: {
        deviceModelRef: { name: 'plc-model' },
        nodeName: 'edge-1',
        protocol: { protocolName: 'opcua', configData: { url: 'opc.tcp://10.0.0.5:4840' } },
        properties: [{ name: 't', visitors: { protocolName: 'opcua', configData: { nodeID: 'ns=2;i=2' } }, collectCycle: 500, pushMethod }],
      },
    } as unknown as Device;
    const model = { metadata: { name: 'plc-model', namespace: 'default' }, spec: { properties: [{ name: 't', type: 'DOUBLE', accessMode: 'ReadOnly' }] } } as unknown as DeviceModel;
    const membership = membershipOf('edge-1', { devices: { list: () => [device] }, models: { get: () => model } }, 7n);
    expect(membership.devices[0]?.propertyVisitors).toEqual([{ name: 't', visitors: { protocolName: 'opcua', configData: { nodeID: 'ns=2;i=2' } }, collectCycle: 500, pushMethod }]);
  });
});
