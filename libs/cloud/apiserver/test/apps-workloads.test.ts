// apps/v1 Deployment, ReplicaSet, DaemonSet and StatefulSet through the real kubectl: apply and
// its defaults, tables, server-side dry-run, validation with upstream's field paths, strategic
// merge of pod template containers, the status subresource and generation, delete.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  await test.close();
});

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deploymentManifest(name: string, options: { selector?: string; templateLabel?: string; image?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ${options.selector ?? name}
  template:
    metadata:
      labels:
        app: ${options.templateLabel ?? options.selector ?? name}
    spec:
      containers:
      - name: app
        image: ${options.image ?? 'busybox:1.36'}
        ports:
        - containerPort: 8080
      - name: sidecar
        image: busybox:1.36
`;
}

const SETS_MANIFEST = `apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
spec:
  selector:
    matchExpressions:
    - {key: tier, operator: In, values: [front, edge]}
  template:
    metadata:
      labels: {tier: front}
    spec:
      containers: [{name: web, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {kedge.io/edge: "true"}
      containers: [{name: agent, image: busybox:1.36}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers: [{name: db, image: busybox:1.36}]
`;

async function apply(manifest: string, ...flags: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(test.dataDir, `manifest-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, manifest);
  return test.kubectl(['apply', '-f', file, ...flags]);
}

async function getJson(resource: string, name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const result = await test.kubectl(['get', resource, name, '-o', 'json']);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

describe('apps/v1 workloads', () => {
  it('apps - kubectl apply stores a Deployment with kube-apiserver defaults and re-applies unchanged', async () => {
    const first = await apply(deploymentManifest('web'));
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('deployment.apps/web created\n');
    expect((await apply(deploymentManifest('web'))).stdout).toBe('deployment.apps/web unchanged\n');
    const stored = await getJson('deployment', 'web');
    expect(stored.metadata.generation).toBe(1);
    expect(stored.status).toEqual({});
    expect(stored.spec).toMatchObject({
      replicas: 2,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
    });
    expect(stored.spec.template.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', terminationGracePeriodSeconds: 30 });
    expect(stored.spec.template.spec.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', ports: [{ containerPort: 8080, protocol: 'TCP' }] });
    // a pod default that comes from admission, not from defaulting, stays off templates
    expect(stored.spec.template.spec.serviceAccountName).toBeUndefined();
  });

  it('apps - kubectl get prints upstream columns for all four kinds, and api-resources lists them', async () => {
    await apply(deploymentManifest('columns'));
    const deployments = await test.kubectl(['get', 'deploy', 'columns']);
    expect(deployments.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ncolumns\s+0\/2\s+0\s+0\s+\d+s\n$/);
    const wide = await test.kubectl(['get', 'deploy', 'columns', '-o', 'wide']);
    expect(wide.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\n/);
    expect(wide.stdout).toMatch(/\ncolumns\s+0\/2\s+0\s+0\s+\d+s\s+app,sidecar\s+busybox:1\.36,busybox:1\.36\s+app=columns\n/);

    const sets = await apply(SETS_MANIFEST);
    expect(sets.stderr).toBe('');
    expect(sets.stdout).toBe('replicaset.apps/frontend created\ndaemonset.apps/agent created\nstatefulset.apps/db created\n');
    expect((await test.kubectl(['get', 'rs', '-o', 'wide'])).stdout).toMatch(
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR\nfrontend\s+1\s+0\s+0\s+\d+s\s+web\s+busybox:1\.36\s+tier in \(edge,front\)\n$/,
    );
    expect((await test.kubectl(['get', 'ds'])).stdout).toMatch(
      /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\nagent\s+0\s+0\s+0\s+0\s+0\s+kedge\.io\/edge=true\s+\d+s\n$/,
    );
    expect((await test.kubectl(['get', 'sts'])).stdout).toMatch(/^NAME\s+READY\s+AGE\ndb\s+0\/1\s+\d+s\n$/);

    const daemonSet = await getJson('ds', 'agent');
    expect(daemonSet.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    const statefulSet = await getJson('sts', 'db');
    expect(statefulSet.spec).toMatchObject({ replicas: 1, podManagementPolicy: 'OrderedReady', updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } });
    expect(statefulSet.spec.serviceName).toBeUndefined();

    const resources = await test.kubectl(['api-resources', '--api-group=apps']);
    expect(resources.stdout).toMatch(/\ndaemonsets\s+ds\s+apps\/v1\s+true\s+DaemonSet\n/);
    expect(resources.stdout).toMatch(/\ndeployments\s+deploy\s+apps\/v1\s+true\s+Deployment\n/);
    expect(resources.stdout).toMatch(/\nreplicasets\s+rs\s+apps\/v1\s+true\s+ReplicaSet\n/);
    expect(resources.stdout).toMatch(/\nstatefulsets\s+sts\s+apps\/v1\s+true\s+StatefulSet\n/);
    const all = await test.kubectl(['get', 'all']);
    for (const name of ['deployment.apps/columns', 'replicaset.apps/frontend', 'daemonset.apps/agent', 'statefulset.apps/db']) expect(all.stdout).toContain(name);
  });

  it('apps - server-side dry-run validates and defaults but creates nothing', async () => {
    const dryRun = await apply(deploymentManifest('dry'), '--dry-run=server', '-o', 'json');
    expect(dryRun.stderr).toBe('');
    expect(JSON.parse(dryRun.stdout).spec.revisionHistoryLimit).toBe(10);
    const missing = await test.kubectl(['get', 'deploy', 'dry']);
    expect(missing.stderr).toContain('deployments.apps "dry" not found');
    const invalid = await apply(deploymentManifest('dry-bad', { selector: 'a', templateLabel: 'b' }), '--dry-run=server');
    expect(invalid.code).not.toBe(0);
    expect(invalid.stderr).toContain('`selector` does not match template `labels`');
  });

  it('apps - a selector that is missing or does not match the template labels is a 422 naming the field', async () => {
    const mismatch = await test.request('POST', DEPLOYMENTS, {
      body: {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'mismatch' },
        spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      },
    });
    expect(mismatch.status).toBe(422);
    expect(mismatch.json).toMatchObject({ kind: 'Status', reason: 'Invalid', details: { name: 'mismatch', group: 'apps', kind: 'Deployment' } });
    expect(mismatch.json.details.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels', message: 'Invalid value: {"app":"b"}: `selector` does not match template `labels`' },
    ]);
    expect(mismatch.json.message).toBe('Deployment.apps "mismatch" is invalid: spec.template.metadata.labels: Invalid value: {"app":"b"}: `selector` does not match template `labels`');

    const noSelector = await test.request('POST', DEPLOYMENTS, {
      body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'noselector' }, spec: { template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } },
    });
    expect(noSelector.status).toBe(422);
    expect(noSelector.json.details.causes).toEqual([{ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' }]);

    const negative = await test.request('POST', DEPLOYMENTS, {
      body: {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'negative' },
        spec: { replicas: -1, selector: { matchLabels: { app: 'n' } }, template: { metadata: { labels: { app: 'n' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      },
    });
    expect(negative.status).toBe(422);
    expect(negative.json.details.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }]);
  });

  it('apps - the selector of a Deployment cannot change, and a StatefulSet refuses changes outside its mutable fields', async () => {
    await apply(deploymentManifest('pinned'));
    const changed = await apply(deploymentManifest('pinned', { selector: 'other' }));
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('The Deployment "pinned" is invalid: spec.selector: Invalid value: {"matchLabels":{"app":"other"}}: field is immutable');
    expect((await getJson('deploy', 'pinned')).spec.selector).toEqual({ matchLabels: { app: 'pinned' } });

    await apply(SETS_MANIFEST);
    const policy = await test.kubectl(['patch', 'sts', 'db', '--type=merge', '-p', '{"spec":{"podManagementPolicy":"Parallel"}}']);
    expect(policy.code).not.toBe(0);
    expect(policy.stderr).toContain('spec: Forbidden: updates to statefulset spec for fields other than');
    expect((await test.kubectl(['patch', 'sts', 'db', '--type=merge', '-p', '{"spec":{"replicas":3}}'])).stdout).toBe('statefulset.apps/db patched\n');
  });

  it('apps - the pod template is validated like a pod, with paths under spec.template.spec', async () => {
    const response = await test.request('POST', '/apis/apps/v1/namespaces/default/daemonsets', {
      body: {
        apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'broken' },
        spec: {
          selector: { matchLabels: { app: 'x' } },
          template: { metadata: { labels: { app: 'x' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c' }] } },
        },
      },
    });
    expect(response.status).toBe(422);
    expect(response.json.details.causes).toEqual([
      { reason: 'FieldValueRequired', field: 'spec.template.spec.containers[0].image', message: 'Required value' },
      { reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: 'Unsupported value: "Never": supported values: "Always"' },
    ]);
    const kubectl = await apply(deploymentManifest('noimage').replace('        image: busybox:1.36\n        ports', '        ports'));
    expect(kubectl.code).not.toBe(0);
    expect(kubectl.stderr).toContain('spec.template.spec.containers[0].image: Required value');
  });

  it('apps - a strategic merge patch of one container image keeps the other container', async () => {
    await apply(deploymentManifest('patched'));
    const patch = await test.kubectl(['patch', 'deploy', 'patched', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:1.37"}]}}}}']);
    expect(patch.stderr).toBe('');
    expect(patch.stdout).toBe('deployment.apps/patched patched\n');
    const stored = await getJson('deploy', 'patched');
    expect(stored.spec.template.spec.containers.map((container: { name: string; image: string }) => [container.name, container.image])).toEqual([
      ['app', 'busybox:1.37'],
      ['sidecar', 'busybox:1.36'],
    ]);
    expect(stored.spec.template.spec.containers[0].ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);
    expect(stored.metadata.generation).toBe(2);
    // kubectl set image and rollout restart are strategic merge patches of the template too
    expect((await test.kubectl(['set', 'image', 'deploy/patched', 'sidecar=busybox:1.38'])).stdout).toBe('deployment.apps/patched image updated\n');
    expect((await test.kubectl(['rollout', 'restart', 'deploy/patched'])).stdout).toBe('deployment.apps/patched restarted\n');
    const restarted = await getJson('deploy', 'patched');
    expect(restarted.spec.template.spec.containers[1].image).toBe('busybox:1.38');
    expect(restarted.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-/);
    expect(restarted.metadata.generation).toBe(4);
  });

  it('apps - status is written only through /status, and generation counts spec changes only', async () => {
    await apply(deploymentManifest('split'));
    const path = `${DEPLOYMENTS}/split`;
    const initial = (await test.request('GET', path)).json;

    const statusWrite = await test.request('PUT', `${path}/status`, {
      body: { ...initial, spec: { ...initial.spec, replicas: 9 }, status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 } },
    });
    expect(statusWrite.status).toBe(200);
    expect(statusWrite.json.spec.replicas).toBe(2);
    expect(statusWrite.json.status.readyReplicas).toBe(2);
    expect(statusWrite.json.metadata.generation).toBe(1);
    expect((await test.kubectl(['get', 'deploy', 'split'])).stdout).toMatch(/\nsplit\s+2\/2\s+2\s+2\s+/);

    const mainWrite = await test.request('PUT', path, {
      body: { ...statusWrite.json, metadata: { ...statusWrite.json.metadata, labels: { tier: 'web' } }, status: { readyReplicas: 0 } },
    });
    expect(mainWrite.status).toBe(200);
    expect(mainWrite.json.status.readyReplicas).toBe(2);
    expect(mainWrite.json.metadata.labels).toEqual({ tier: 'web' });
    expect(mainWrite.json.metadata.generation).toBe(1);

    const badStatus = await test.request('PATCH', `${path}/status`, { body: { status: { replicas: -3 } }, contentType: 'application/merge-patch+json' });
    expect(badStatus.status).toBe(422);
    expect(badStatus.json.details.causes[0].field).toBe('status.replicas');

    expect((await test.kubectl(['patch', 'deploy', 'split', '--type=merge', '-p', '{"spec":{"replicas":5}}'])).code).toBe(0);
    const scaled = await getJson('deploy', 'split');
    expect(scaled.metadata.generation).toBe(2);
    expect(scaled.status.observedGeneration).toBe(1);
    expect(scaled.spec.replicas).toBe(5);
  });

  it('apps - kubectl create deployment sends protobuf and stores what kubectl meant', async () => {
    const args = ['create', 'deployment', 'generated', '--image=busybox:1.36', '--port=8080', '--replicas=0', '--', 'sleep', '3600'];
    const intended = JSON.parse((await test.kubectl([...args.slice(0, -3), '--dry-run=client', '-o', 'json', ...args.slice(-3)])).stdout);
    const created = await test.kubectl(args);
    expect(created.stderr).toBe('');
    expect(created.stdout).toBe('deployment.apps/generated created\n');
    const stored = await getJson('deploy', 'generated');
    expect(stored.spec.replicas).toBe(0);
    expect(stored.spec.selector).toEqual(intended.spec.selector);
    expect(stored.spec.template.metadata.labels).toEqual(intended.spec.template.metadata.labels);
    expect(stored.spec.template.spec.containers).toEqual([
      { ...intended.spec.template.spec.containers[0], imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
    ]);
  });

  it('apps - kubectl scale writes spec.replicas through the autoscaling/v1 scale subresource', async () => {
    await apply(deploymentManifest('scaled'));
    expect((await test.kubectl(['scale', 'deploy', 'scaled', '--replicas=4'])).stdout).toBe('deployment.apps/scaled scaled\n');
    const preconditionFailed = await test.kubectl(['scale', 'deploy', 'scaled', '--replicas=5', '--current-replicas=2']);
    expect(preconditionFailed.stderr).toContain('Expected replicas to be 2, was 4');
    const scale = await test.request('GET', `${DEPLOYMENTS}/scaled/scale`);
    expect(scale.json).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 4 }, status: { replicas: 0, selector: 'app=scaled' } });
    const stored = await getJson('deploy', 'scaled');
    expect(stored.spec.replicas).toBe(4);
    expect(stored.metadata.generation).toBe(2);

    const negative = await test.request('PATCH', `${DEPLOYMENTS}/scaled/scale`, { body: { spec: { replicas: -1 } }, contentType: 'application/merge-patch+json' });
    expect(negative.status).toBe(422);
    expect(negative.json.details.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' }]);
    const current = await test.request('PUT', `${DEPLOYMENTS}/scaled/scale`, { body: { ...scale.json, spec: { replicas: 1 } } });
    expect(current.json.spec.replicas).toBe(1);
    // the Scale's resourceVersion is a precondition on the Deployment
    const stale = await test.request('PUT', `${DEPLOYMENTS}/scaled/scale`, { body: { ...scale.json, spec: { replicas: 2 } } });
    expect(stale.status).toBe(409);
    expect((await getJson('deploy', 'scaled')).spec.replicas).toBe(1);

    await apply(SETS_MANIFEST);
    expect((await test.request('GET', '/apis/apps/v1/namespaces/default/daemonsets/agent/scale')).status).toBe(404);
    const resources = (await test.request('GET', '/apis/apps/v1')).json.resources;
    expect(resources).toContainEqual({ name: 'statefulsets/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  });

  it('apps - kubectl delete removes a Deployment', async () => {
    await apply(deploymentManifest('doomed'));
    const deleted = await test.kubectl(['delete', 'deploy', 'doomed']);
    expect(deleted.stdout).toBe('deployment.apps "doomed" deleted\n');
    expect((await test.request('GET', `${DEPLOYMENTS}/doomed`)).status).toBe(404);
  });
});
