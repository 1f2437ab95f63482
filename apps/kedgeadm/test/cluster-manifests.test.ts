// The manifests kedgeadm init applies: loaded in file order, adjusted to the install (advertise
// address into the ConfigMap's cloudcore.yaml with its comments kept, the image), and refused with
// the file, the document and the field when they are broken.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { cloudCoreConfigSchema } from '@kedge/cloudcore-config';
import { loadConfigFile } from '@kedge/config';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MANIFEST_DIR, loadClusterManifests } from '../src/cluster-manifests';
import { initCommand } from '../src/init-command';
import { KedgeadmUsageError } from '../src/token-command';

const dirWith = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'kedgeadm-manifests-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

describe('init - embedded', () => {
  it('writes a cloudcore.yaml that cloudcore loads: the advertise address, the embedded API server and the data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kedgeadm-init-'));
    const result = await initCommand({ dataDir, advertiseAddress: '10.0.0.5' });
    expect(result.mode).toBe('embedded');
    const config = loadConfigFile(result.configFile!, cloudCoreConfigSchema);
    expect(config.dataDir).toBe(dataDir);
    expect(config.cloudHub.advertiseAddresses).toEqual(['10.0.0.5']);
    expect(config.kubeAPI).toEqual({ embedded: { address: '127.0.0.1', port: 6443, metricsScrapeIntervalSeconds: 15 } });
  });
});

describe('cluster manifests', () => {
  it('loads deploy/cloudcore in order and applies the advertise address and image', () => {
    const manifests = loadClusterManifests(DEFAULT_MANIFEST_DIR, { advertiseAddresses: ['10.1.2.3'], image: 'registry.example/kedge/cloudcore:9' });
    expect(manifests[0]?.object.kind).toBe('Namespace');
    const configMap = manifests.find((m) => m.object.kind === 'ConfigMap')?.object as unknown as { data: Record<string, string> };
    const text = configMap.data['cloudcore.yaml']!;
    expect((parse(text) as { cloudHub: { advertiseAddresses: string[] } }).cloudHub.advertiseAddresses).toEqual(['10.1.2.3']);
    expect(text).toContain('# the address(es) edges dial'); // comments survive the edit
    const deployment = manifests.find((m) => m.object.kind === 'Deployment')?.object as unknown as {
      spec: { template: { spec: { containers: { name: string; image: string }[] } } };
    };
    expect(deployment.spec.template.spec.containers.find((c) => c.name === 'cloudcore')?.image).toBe('registry.example/kedge/cloudcore:9');
  });

  it('names the file, the document and the field of a broken manifest', () => {
    expect(() => loadClusterManifests(join(tmpdir(), 'no-such-manifests'))).toThrow(/--manifests .*no such directory/);
    expect(() => loadClusterManifests(dirWith({ 'notes.txt': 'x' }))).toThrow(/no \*\.yaml files/);
    expect(() => loadClusterManifests(dirWith({ '00-bad.yaml': 'kind: [unclosed\n' }))).toThrow(/00-bad\.yaml document 1/);
    expect(() => loadClusterManifests(dirWith({ '00-a.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' }))).toThrow(
      /00-a\.yaml document 2: metadata\.name is missing/,
    );
    expect(() => loadClusterManifests(dirWith({ '00-a.yaml': 'metadata: {name: a}\n' }))).toThrow(/apiVersion is missing/);
  });

  it('refuses a ConfigMap cloudcore.yaml that cloudcore would refuse, naming the file and the field', () => {
    const configMap = (yaml: string) => ({
      '03-configmap.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cloudcore-config}\ndata:\n  cloudcore.yaml: |\n${yaml.replace(/^/gm, '    ')}`,
    });
    expect(() => loadClusterManifests(dirWith(configMap('metrics: {port: 9091}\n')), { advertiseAddresses: ['10.1.2.3'] })).not.toThrow();
    expect(() => loadClusterManifests(dirWith(configMap('metrics: {prot: 9091}\n')), { advertiseAddresses: ['10.1.2.3'] })).toThrow(
      /03-configmap\.yaml ConfigMap cloudcore-config cloudcore\.yaml:\n.*field "metrics": unknown field "prot"/,
    );
  });

  it('init refuses a bad --advertise-address and a kubeconfig that is not one, before touching anything', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kedgeadm-init-'));
    await expect(initCommand({ dataDir, advertiseAddress: 'cloud.example' })).rejects.toThrow(/--advertise-address "cloud\.example": expected an IP address/);
    const kubeconfig = join(dataDir, 'broken.kubeconfig');
    writeFileSync(kubeconfig, 'clusters: [unclosed\n');
    await expect(initCommand({ dataDir, kubeconfig, advertiseAddress: '10.0.0.5' })).rejects.toBeInstanceOf(KedgeadmUsageError);
    await expect(initCommand({ dataDir, kubeconfig, advertiseAddress: '10.0.0.5' })).rejects.toThrow(/--kubeconfig .*broken\.kubeconfig/);
  });
});
