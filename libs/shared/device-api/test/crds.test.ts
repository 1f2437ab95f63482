import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
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

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** Every path of a schema (objects and leaves), arrays written `[]`, as the fixture spells them. */
function fieldPaths(schema: Schema, prefix = ''): string[] {
  const out: string[] = [];
  if (schema.items) {
    out.push(`${prefix}[]`, ...fieldPaths(schema.items, `${prefix}[]`));
  }
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    out.push(path, ...fieldPaths(child, path));
  }
  return out;
}

describe('api crds - parity with KubeEdge 1.23', () => {
  const upstream = JSON.parse(readFileSync(new URL('./fixtures/upstream-field-paths.json', import.meta.url), 'utf8')) as Record<string, string[]>;
  for (const kind of ['Device', 'DeviceModel', 'DeviceStatus']) {
    it(`every field path of upstream's ${kind} exists in kedge's CRD`, () => {
      const crd = kedgeCrdManifests().find((c) => c.spec.names.kind === kind);
      expect(crd, `kedge serves ${kind}`).toBeDefined();
      const versions = crd?.spec['versions'] as { name: string; schema: { openAPIV3Schema: Schema } }[];
      const paths = new Set(fieldPaths(versions.find((v) => v.name === 'v1beta1')?.schema.openAPIV3Schema ?? {}));
      const expected = upstream[kind] ?? [];
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.filter((p) => !paths.has(p))).toEqual([]);
    });
  }
});
