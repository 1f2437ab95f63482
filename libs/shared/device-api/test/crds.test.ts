import { describe, expect, it } from 'vitest';
import { DEVICE_CRD_NAMES, DEVICES_GROUP, kedgeCrdManifests } from '../src/index';

describe('api crds - manifests', () => {
  it('parses both CRDs of devices.kubeedge.io with v1beta1 served and stored', () => {
    const crds = kedgeCrdManifests();
    expect(crds.map((c) => c.metadata.name)).toEqual([...DEVICE_CRD_NAMES]);
    for (const crd of crds) {
      expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
      expect(crd.spec.group).toBe(DEVICES_GROUP);
      expect(crd.spec['versions']).toMatchObject([{ name: 'v1beta1', served: true, storage: true }]);
    }
  });

  it('device has the status subresource and the model property enum', () => {
    const [model, device] = kedgeCrdManifests();
    expect(device?.spec['versions']).toMatchObject([{ subresources: { status: {} } }]);
    expect(JSON.stringify(model)).toContain('"BYTES"');
  });
});
