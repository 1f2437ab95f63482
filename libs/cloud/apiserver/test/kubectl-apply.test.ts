// kubectl against the embedded API server: apply (client-side three-way merge and server-side),
// get in its output forms, patch types, label/annotate, api-resources, describe.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CRD_NAME, DEMO_MANIFEST, configMapManifest } from './fixtures/manifests';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeEach(async () => {
  test = await startTestServer();
});

afterEach(async () => {
  await test.close();
});

async function applyDemo(): Promise<void> {
  const file = join(test.dataDir, 'demo.yaml');
  await writeFile(file, DEMO_MANIFEST);
  // the custom resource cannot be mapped before its CRD exists; kubectl applies the rest and says so
  const first = await test.kubectl(['apply', '-f', file]);
  expect(first.stdout).toContain('namespace/demo created');
  expect(first.stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/${CRD_NAME} created`);
  expect(first.stderr).toContain('ensure CRDs are installed first');
  const wait = await test.kubectl(['wait', '--for', 'condition=established', `crd/${CRD_NAME}`, '--timeout=20s']);
  expect(wait.stdout).toContain('condition met');
  const second = await test.kubectl(['apply', '-f', file]);
  expect(second.stderr).toBe('');
  expect(second.code).toBe(0);
  expect(second.stdout).toContain('widget.example.com/w1 created');
  expect(second.stdout).toContain('configmap/settings unchanged');
}

describe('kubectl apply and get', () => {
  it('applies a multi-document file with a namespace, configmap, secret, pod, CRD and custom resource', async () => {
    await applyDemo();
    const widgets = await test.kubectl(['get', 'widgets', '-n', 'demo']);
    expect(widgets.stdout).toMatch(/^NAME\s+SIZE\s+COLOR\s+AGE\n/);
    expect(widgets.stdout).toMatch(/\nw1\s+3\s+red\s+\d+s\n/);
    const short = await test.kubectl(['get', 'wd', 'w1', '-n', 'demo', '-o', 'jsonpath={.spec.color}']);
    expect(short.stdout).toBe('red');
  });

  it('prints tables with the real columns, and -o json, -o yaml and -o jsonpath', async () => {
    await applyDemo();
    const pods = await test.kubectl(['get', 'pods', '-n', 'demo']);
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    expect(pods.stdout).toMatch(/\nweb\s+0\/1\s+Pending\s+0\s+\d+s\n/);
    const wide = await test.kubectl(['get', 'pods', '-n', 'demo', '-o', 'wide']);
    expect(wide.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/);
    const configMaps = await test.kubectl(['get', 'configmaps', '-n', 'demo']);
    expect(configMaps.stdout).toMatch(/^NAME\s+DATA\s+AGE\n/);
    expect(configMaps.stdout).toMatch(/\nsettings\s+2\s+/);
    const secrets = await test.kubectl(['get', 'secrets', '-n', 'demo']);
    expect(secrets.stdout).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ncreds\s+Opaque\s+1\s+/);
    const namespaces = await test.kubectl(['get', 'namespaces']);
    expect(namespaces.stdout).toMatch(/^NAME\s+STATUS\s+AGE\n/);
    for (const name of ['default', 'demo', 'kube-node-lease', 'kube-public', 'kube-system']) {
      expect(namespaces.stdout).toMatch(new RegExp(`\\n${name}\\s+Active\\s+`));
    }
    const crds = await test.kubectl(['get', 'crds']);
    expect(crds.stdout).toMatch(/^NAME\s+CREATED AT\nwidgets\.example\.com\s+\d{4}-\d\d-\d\dT/);

    const json = JSON.parse((await test.kubectl(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'])).stdout);
    expect(json).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { key: 'value1' }, metadata: { name: 'settings', namespace: 'demo' } });
    expect(json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(json.metadata.creationTimestamp).toMatch(/Z$/);
    const yaml = await test.kubectl(['get', 'secret', 'creds', '-n', 'demo', '-o', 'yaml']);
    expect(yaml.stdout).toContain('password: aHVudGVyMg==');
    expect(yaml.stdout).toContain('kind: Secret');
    const jsonpath = await test.kubectl(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'jsonpath={.data.key}']);
    expect(jsonpath.stdout).toBe('value1');
    const list = JSON.parse((await test.kubectl(['get', 'pods', '-A', '-o', 'json'])).stdout);
    expect(list.kind).toBe('List');
    expect(list.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['web']);
  });

  it('patches with --type=json, merge and strategic, and labels and annotates', async () => {
    await applyDemo();
    expect((await test.kubectl(['patch', 'configmap', 'settings', '-n', 'demo', '--type=json', '-p', '[{"op":"replace","path":"/data/key","value":"v2"}]'])).stdout).toContain('patched');
    expect((await test.kubectl(['patch', 'configmap', 'settings', '-n', 'demo', '--type=merge', '-p', '{"data":{"added":"yes"}}'])).stdout).toContain('patched');
    const strategic = await test.kubectl(['patch', 'pod', 'web', '-n', 'demo', '--type=strategic', '-p', '{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}']);
    expect(strategic.stdout).toContain('pod/web patched');
    expect((await test.kubectl(['label', 'configmap', 'settings', '-n', 'demo', 'tier=backend'])).stdout).toContain('labeled');
    expect((await test.kubectl(['annotate', 'configmap', 'settings', '-n', 'demo', 'note=hello'])).stdout).toContain('annotated');
    const configMap = JSON.parse((await test.kubectl(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json', '--show-managed-fields'])).stdout);
    expect(configMap.data).toMatchObject({ key: 'v2', added: 'yes' });
    expect(configMap.metadata.labels).toEqual({ tier: 'backend' });
    expect(configMap.metadata.annotations.note).toBe('hello');
    const managers = configMap.metadata.managedFields.map((entry: { manager: string }) => entry.manager);
    expect(managers).toEqual(expect.arrayContaining(['kubectl-patch', 'kubectl-label', 'kubectl-annotate']));
    const pod = JSON.parse((await test.kubectl(['get', 'pod', 'web', '-n', 'demo', '-o', 'json'])).stdout);
    expect(pod.spec.containers).toHaveLength(1);
    expect(pod.spec.containers[0]).toMatchObject({ name: 'web', image: 'nginx:1.26', ports: [{ containerPort: 80 }] });
    // strategic merge is for built-in kinds only; a custom resource answers 415 as in Kubernetes
    const crPatch = await test.kubectl(['patch', 'widget', 'w1', '-n', 'demo', '--type=strategic', '-p', '{"spec":{"size":4}}']);
    expect(crPatch.code).not.toBe(0);
    expect(crPatch.stderr).toContain('application/strategic-merge-patch+json is not supported');
    expect((await test.kubectl(['label', 'widget', 'w1', '-n', 'demo', 'shape=round'])).stdout).toContain('labeled');
  });

  it('a second apply removes a field that left the file (three-way merge) and keeps fields set by others', async () => {
    const file = join(test.dataDir, 'cm.yaml');
    await writeFile(file, configMapManifest('settings', { key: 'value1', other: 'x' }, 'default'));
    expect((await test.kubectl(['apply', '-f', file])).stdout).toContain('configmap/settings created');
    await test.kubectl(['patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"byhand":"1"}}']);
    await writeFile(file, configMapManifest('settings', { key: 'value2' }, 'default'));
    expect((await test.kubectl(['apply', '-f', file])).stdout).toContain('configmap/settings configured');
    const data = JSON.parse((await test.kubectl(['get', 'configmap', 'settings', '-o', 'jsonpath={.data}'])).stdout);
    expect(data).toEqual({ key: 'value2', byhand: '1' });
    expect((await test.kubectl(['apply', '-f', file])).stdout).toContain('configmap/settings unchanged');
  });

  it('applies server-side with field managers, conflicts and --force-conflicts', async () => {
    const file = join(test.dataDir, 'ssa.yaml');
    await writeFile(file, configMapManifest('ssa', { a: '1', b: '2' }, 'default'));
    expect((await test.kubectl(['apply', '--server-side', '-f', file])).stdout).toContain('configmap/ssa serverside-applied');
    const object = JSON.parse((await test.kubectl(['get', 'configmap', 'ssa', '-o', 'json', '--show-managed-fields'])).stdout);
    expect(object.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } }),
    ]);
    await test.kubectl(['patch', 'configmap', 'ssa', '--type=merge', '-p', '{"data":{"a":"changed"}}']);
    const conflict = await test.kubectl(['apply', '--server-side', '-f', file]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('conflict with "kubectl-patch"');
    expect(conflict.stderr).toContain('.data.a');
    expect((await test.kubectl(['apply', '--server-side', '--force-conflicts', '-f', file])).code).toBe(0);
    // dropping a field from the applied configuration removes it
    await writeFile(file, configMapManifest('ssa', { a: '1' }, 'default'));
    await test.kubectl(['apply', '--server-side', '-f', file]);
    expect(JSON.parse((await test.kubectl(['get', 'configmap', 'ssa', '-o', 'jsonpath={.data}'])).stdout)).toEqual({ a: '1' });
  });

  it('lists pods, configmaps and the CRD kind in api-resources', async () => {
    await applyDemo();
    const resources = await test.kubectl(['api-resources']);
    expect(resources.stdout).toMatch(/\npods\s+po\s+v1\s+true\s+Pod\n/);
    expect(resources.stdout).toMatch(/\nconfigmaps\s+cm\s+v1\s+true\s+ConfigMap\n/);
    expect(resources.stdout).toMatch(/\nwidgets\s+wd\s+example\.com\/v1\s+true\s+Widget\n/);
    expect(resources.stdout).toMatch(/\nleases\s+coordination\.k8s\.io\/v1\s+true\s+Lease\n/);
    const versions = await test.kubectl(['api-versions']);
    expect(versions.stdout.split('\n')).toEqual(expect.arrayContaining(['v1', 'example.com/v1', 'apiextensions.k8s.io/v1']));
  });

  it('describes a pod with its events', async () => {
    await applyDemo();
    const pod = JSON.parse((await test.kubectl(['get', 'pod', 'web', '-n', 'demo', '-o', 'json'])).stdout);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.scheduled', namespace: 'demo' },
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'demo', uid: pod.metadata.uid, apiVersion: 'v1' },
      reason: 'Scheduled',
      message: 'Successfully assigned demo/web to edge-1',
      type: 'Normal',
      source: { component: 'default-scheduler' },
      firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      count: 1,
    };
    expect((await test.request('POST', '/api/v1/namespaces/demo/events', { body: event })).status).toBe(201);
    const described = await test.kubectl(['describe', 'pod', 'web', '-n', 'demo']);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/Name:\s+web\n/);
    expect(described.stdout).toMatch(/Namespace:\s+demo\n/);
    expect(described.stdout).toMatch(/Status:\s+Pending\n/);
    expect(described.stdout).toMatch(/Image:\s+nginx:1\.25/);
    expect(described.stdout).toMatch(/Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned demo\/web to edge-1/);
    const events = await test.kubectl(['get', 'events', '-n', 'demo']);
    expect(events.stdout).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    expect(events.stdout).toContain('pod/web');
  });
});
