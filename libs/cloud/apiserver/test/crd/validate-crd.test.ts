import { describe, expect, it } from 'vitest';
import { validateCustomResourceDefinition } from '../../src/crd/index';
import { formatFieldError } from '../../src/validation/index';
import { crontabCrd } from './fixtures';

type Crd = ReturnType<typeof crontabCrd> & { spec: Record<string, unknown> & { versions: Record<string, unknown>[]; names: Record<string, unknown> } };
const crd = () => crontabCrd() as Crd;
const check = (c: unknown) => validateCustomResourceDefinition(c).map(formatFieldError);

describe('crd - validation', () => {
  it('crd - the docs CronTab CRD is valid', () => {
    expect(check(crd())).toEqual([]);
  });

  it('crd - without a storage version it is refused', () => {
    const c = crd();
    c.spec.versions[0]!['storage'] = false;
    expect(check(c)).toEqual(['spec.versions: Invalid value: ["v1","v1beta1"]: must have exactly one version marked as storage version']);
    c.spec.versions[1]!['storage'] = true;
    c.spec.versions[0]!['storage'] = true;
    expect(check(c)).toHaveLength(1);
  });

  it('crd - metadata.name must be <plural>.<group>', () => {
    const c = crd();
    (c['metadata'] as Record<string, unknown>)['name'] = 'crontab.stable.example.com';
    expect(check(c)).toEqual(['metadata.name: Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group']);
  });

  it('crd - group, names and scope', () => {
    const c = crd();
    c.spec['group'] = 'example';
    c.spec['scope'] = 'Global';
    c.spec.names = { plural: 'CronTabs', kind: 'cron_tab', listKind: 'cron_tab', shortNames: ['C T'] };
    (c['metadata'] as Record<string, unknown>)['name'] = 'x.example';
    expect(validateCustomResourceDefinition(c).map((e) => `${e.field}:${e.type}`)).toEqual([
      'spec.group:FieldValueInvalid',
      'spec.names.plural:FieldValueInvalid',
      'spec.names.kind:FieldValueInvalid',
      'spec.names.listKind:FieldValueInvalid',
      'spec.names.listKind:FieldValueInvalid',
      'spec.names.shortNames[0]:FieldValueInvalid',
      'metadata.name:FieldValueInvalid',
      'spec.scope:FieldValueNotSupported',
    ]);
    expect(check({ ...crd(), spec: { ...crd().spec, names: undefined } })).toContain('spec.names.plural: Required value');
  });

  it('crd - versions: unique DNS-1035 names, schemas required and structural', () => {
    const c = crd();
    c.spec.versions[1]!['name'] = 'v1';
    delete c.spec.versions[1]!['schema'];
    expect(check(c)).toEqual([
      'spec.versions[1].schema.openAPIV3Schema: Required value: schemas are required',
      'spec.versions[1].name: Duplicate value: "v1"',
    ]);
    const d = crd();
    d.spec.versions[0]!['schema'] = { openAPIV3Schema: { type: 'object', properties: { spec: { properties: {} } } } };
    expect(check(d)).toEqual(['spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields']);
    expect(check({ ...crd(), spec: { ...crd().spec, versions: [] } })).toEqual(['spec.versions: Required value: must have at least one version']);
  });

  it('crd - subresources and printer columns', () => {
    const c = crd();
    const v = c.spec.versions[0]!;
    v['subresources'] = { status: {}, scale: { specReplicasPath: '.status.replicas', statusReplicasPath: 'status.replicas' } };
    v['additionalPrinterColumns'] = [
      { name: 'A', type: 'string', jsonPath: '.spec.a' },
      { name: 'A', type: 'float', format: 'weird', jsonPath: 'spec[', priority: -1 },
      { type: 'string' },
    ];
    expect(validateCustomResourceDefinition(c).map((e) => `${e.field}:${e.type}`)).toEqual([
      'spec.versions[0].subresources.scale.specReplicasPath:FieldValueInvalid',
      'spec.versions[0].subresources.scale.statusReplicasPath:FieldValueInvalid',
      'spec.versions[0].additionalPrinterColumns[1].name:FieldValueDuplicate',
      'spec.versions[0].additionalPrinterColumns[1].type:FieldValueNotSupported',
      'spec.versions[0].additionalPrinterColumns[1].format:FieldValueNotSupported',
      'spec.versions[0].additionalPrinterColumns[1].priority:FieldValueInvalid',
      'spec.versions[0].additionalPrinterColumns[1].jsonPath:FieldValueInvalid',
      'spec.versions[0].additionalPrinterColumns[2].name:FieldValueRequired',
      'spec.versions[0].additionalPrinterColumns[2].jsonPath:FieldValueRequired',
    ]);
  });

  it('crd - protected groups, conversion and preserveUnknownFields', () => {
    const c = crd();
    c.spec['group'] = 'stable.k8s.io';
    (c['metadata'] as Record<string, unknown>)['name'] = 'crontabs.stable.k8s.io';
    c.spec['conversion'] = { strategy: 'Webhook' };
    c.spec['preserveUnknownFields'] = true;
    expect(validateCustomResourceDefinition(c).map((e) => e.field)).toEqual([
      'metadata.annotations[api-approved.kubernetes.io]',
      'spec.conversion.webhook',
      'spec.preserveUnknownFields',
    ]);
  });

  it('crd - wrong types are field errors, never exceptions', () => {
    expect(check('x')).toHaveLength(1);
    expect(check({ metadata: { name: 'a.b.c' }, spec: 'x' })).toEqual(['spec: Invalid value: "string": spec in body must be of type object: "string"']);
    expect(validateCustomResourceDefinition({ metadata: { name: 'a.b' }, spec: { versions: {}, names: [] } }).map((e) => e.field)).toContain('spec.versions');
  });
});
