// Threat suite, issue 12 item 10: nobody grants through the embedded API server what they do not hold.
// A ServiceAccount (a real signed token, over HTTPS, with the real kubectl) that may write RBAC objects
// but holds only `get pods` tries to grant itself more through Roles, ClusterRoles and bindings; a node
// (a real client certificate from the cluster CA) tries to create pods that would hand it secrets or run
// work on another node. Each attack succeeded before the escalate/bind checks and the node's mirror-pod
// restriction existed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createCertificateAuthority, createNodeKeyAndCsr, signNodeCsr, type CertificateAuthority } from '@kedge/pki';
import { metricValue } from '@kedge/testkit';
import { runKubectl, startTestServer, writeTokenKubeconfig, type HttpResult, type KubectlResult, type TestServer } from './harness';

const NAMESPACE = 'attack';
const ATTACKER = `system:serviceaccount:${NAMESPACE}:intruder`;
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const MIRROR = 'kubernetes.io/config.mirror';

let test: TestServer;
let ca: CertificateAuthority;
let registry: Registry;
let intruder: { token: string; kubectl(args: readonly string[], input?: string): Promise<KubectlResult> };
const nodeCerts = new Map<string, { certPem: string; keyPem: string }>();

async function adminOk(args: string[], input?: string): Promise<void> {
  const result = await test.kubectl(args, input === undefined ? undefined : { input });
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
}

function asIntruder(method: string, path: string, body: object, contentType?: string): Promise<HttpResult> {
  return test.request(method, path, { token: intruder.token, body, ...(contentType === undefined ? {} : { contentType }) });
}

function asNode(node: string, body: object, namespace = 'default'): Promise<HttpResult> {
  return test.request('POST', `/api/v1/namespaces/${namespace}/pods`, { token: null, cert: nodeCerts.get(node), body });
}

function role(name: string, rules: object[]): object {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: NAMESPACE }, rules };
}

function clusterRoleBinding(name: string, clusterRole: string): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'ServiceAccount', name: 'intruder', namespace: NAMESPACE }],
  };
}

function roleBinding(name: string, kind: 'Role' | 'ClusterRole', roleName: string): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: NAMESPACE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: roleName },
    subjects: [{ kind: 'ServiceAccount', name: 'intruder', namespace: NAMESPACE }],
  };
}

function mirrorPod(name: string, nodeName: string, extra: { spec?: object; metadata?: object } = {}): object {
  return {
    metadata: { name, annotations: { [MIRROR]: 'static-manifest-hash' }, ...extra.metadata },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }], ...extra.spec },
  };
}

async function nodeCert(authority: CertificateAuthority, name: string): Promise<{ certPem: string; keyPem: string }> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr(name);
  return { certPem: await signNodeCsr(authority, csrPem, { nodeName: name, validityDays: 1 }), keyPem };
}

beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'apiserver attack test CA', validityDays: 1 });
  registry = new Registry();
  test = await startTestServer({ tls: { ca }, metricsRegistry: registry });
  await adminOk(['create', 'namespace', NAMESPACE]);
  await adminOk(['create', 'serviceaccount', 'intruder', '-n', NAMESPACE]);
  // the intruder may write RBAC objects, and otherwise holds only `get pods`
  await adminOk(['apply', '-f', '-'], `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: rbac-author}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, clusterroles, rolebindings, clusterrolebindings]
  verbs: [get, list, create, update, patch]
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: intruder-writes-rbac}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: rbac-author}
subjects:
- {kind: ServiceAccount, name: intruder, namespace: ${NAMESPACE}}
`);
  const minted = await test.kubectl(['create', 'token', 'intruder', '-n', NAMESPACE, '--duration=1h']);
  expect(minted.code, minted.stderr).toBe(0);
  const token = minted.stdout.trim();
  const kubeconfig = await writeTokenKubeconfig(test, token, join(test.dataDir, 'intruder.kubeconfig'), NAMESPACE);
  intruder = {
    token,
    kubectl: (args, input) => runKubectl(kubeconfig, join(test.dataDir, 'cache-intruder'), args, input === undefined ? {} : { input }),
  };
  for (const name of ['edge-a', 'edge-b']) {
    nodeCerts.set(name, await nodeCert(ca, name));
    await adminOk(['apply', '-f', '-'], `{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "${name}"}}`);
  }
  await adminOk(['create', 'secret', 'generic', 'db-password', '-n', 'default', '--from-literal=password=hunter2']);
});

afterAll(async () => {
  await test.close();
});

describe('threat - embedded API server: RBAC escalation', () => {
  it('attack - a ServiceAccount holding only get pods creating a Role granting * on secrets is refused', async () => {
    const created = await intruder.kubectl(['create', 'role', 'steal-secrets', '--verb=*', '--resource=secrets', '-n', NAMESPACE]);
    expect(created.code).not.toBe(0);
    expect(created.stderr).toContain(`roles.rbac.authorization.k8s.io "steal-secrets" is forbidden: user "${ATTACKER}"`);
    expect(created.stderr).toContain('is attempting to grant RBAC permissions not currently held:');
    expect(created.stderr).toContain('{APIGroups:[""], Resources:["secrets"], Verbs:["*"]}');
    expect((await test.request('GET', `${RBAC}/namespaces/${NAMESPACE}/roles/steal-secrets`)).status).toBe(404);
    expect(await metricValue(registry, 'kedge_apiserver_refused_writes_total', { reason: 'rbac-escalation' })).toBeGreaterThan(0);
  });

  it('attack - a ServiceAccount creating a ClusterRole with every permission is refused', async () => {
    const created = await asIntruder('POST', `${RBAC}/clusterroles`, {
      metadata: { name: 'everything' },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }, { nonResourceURLs: ['*'], verbs: ['*'] }],
    });
    expect(created.status, created.text).toBe(403);
    expect(created.json.message).toContain('{APIGroups:["*"], Resources:["*"], Verbs:["*"]}');
    expect(created.json.message).toContain('{NonResourceURLs:["*"], Verbs:["*"]}');
    expect(created.json.message).toContain('"escalate" verb');
  });

  it('attack - a ServiceAccount creating a ClusterRole with an aggregationRule (which could gather any rules) is refused', async () => {
    const created = await asIntruder('POST', `${RBAC}/clusterroles`, {
      metadata: { name: 'gatherer' },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }] },
      rules: [],
    });
    expect(created.status, created.text).toBe(403);
    expect(created.json.message).toContain('must have cluster-admin privileges to use the aggregationRule');
  });

  it('attack - a ServiceAccount patching a harmless Role into one that reads secrets is refused (merge, JSON and server-side apply patches)', async () => {
    const harmless = await asIntruder('POST', `${RBAC}/namespaces/${NAMESPACE}/roles`, role('harmless', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]));
    expect(harmless.status, harmless.text).toBe(201); // it holds get pods, so granting it is fine
    const path = `${RBAC}/namespaces/${NAMESPACE}/roles/harmless`;
    const secretsRule = { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] };
    const merged = await asIntruder('PATCH', path, { rules: [secretsRule] }, 'application/merge-patch+json');
    expect(merged.status, merged.text).toBe(403);
    expect(merged.json.message).toContain('{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}');
    const jsonPatched = await asIntruder('PATCH', path, [{ op: 'add', path: '/rules/-', value: secretsRule }], 'application/json-patch+json');
    expect(jsonPatched.status, jsonPatched.text).toBe(403);
    const applied = await intruder.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(role('harmless', [secretsRule])));
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('is attempting to grant RBAC permissions not currently held');
    const replaced = await asIntruder('PUT', path, { ...role('harmless', [secretsRule]), metadata: { name: 'harmless', namespace: NAMESPACE, resourceVersion: harmless.json.metadata.resourceVersion } });
    expect(replaced.status, replaced.text).toBe(403);
    const stored = await test.request('GET', path);
    expect(stored.json.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
  });

  it('attack - a ServiceAccount binding cluster-admin to itself is refused, cluster-wide and in its namespace', async () => {
    const clusterWide = await intruder.kubectl(['create', 'clusterrolebinding', 'pwned', '--clusterrole=cluster-admin', `--serviceaccount=${NAMESPACE}:intruder`]);
    expect(clusterWide.code).not.toBe(0);
    expect(clusterWide.stderr).toContain(`clusterrolebindings.rbac.authorization.k8s.io "pwned" is forbidden: user "${ATTACKER}"`);
    expect(clusterWide.stderr).toContain('{APIGroups:["*"], Resources:["*"], Verbs:["*"]}');
    expect(clusterWide.stderr).toContain('"bind" verb');
    const inNamespace = await asIntruder('POST', `${RBAC}/namespaces/${NAMESPACE}/rolebindings`, roleBinding('pwned', 'ClusterRole', 'cluster-admin'));
    expect(inNamespace.status, inNamespace.text).toBe(403);
    expect((await test.request('GET', `${RBAC}/clusterrolebindings/pwned`)).status).toBe(404);
    const canI = await intruder.kubectl(['auth', 'can-i', 'get', 'secrets', '-n', NAMESPACE]);
    expect(canI.stdout.trim()).toBe('no');
    expect(await metricValue(registry, 'kedge_apiserver_refused_writes_total', { reason: 'rbac-bind' })).toBeGreaterThan(0);
  });

  it('attack - a ServiceAccount adding itself to an existing cluster-admin binding is refused', async () => {
    await adminOk(['create', 'clusterrolebinding', 'ops-admins', '--clusterrole=cluster-admin', '--group=ops']);
    const patched = await asIntruder(
      'PATCH',
      `${RBAC}/clusterrolebindings/ops-admins`,
      [{ op: 'add', path: '/subjects/-', value: { kind: 'ServiceAccount', name: 'intruder', namespace: NAMESPACE } }],
      'application/json-patch+json',
    );
    expect(patched.status, patched.text).toBe(403);
    const stored = await test.request('GET', `${RBAC}/clusterrolebindings/ops-admins`);
    expect(stored.json.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'ops' }]);
  });

  it('lets the ServiceAccount grant and bind what it already holds', async () => {
    const viewer = await asIntruder('POST', `${RBAC}/namespaces/${NAMESPACE}/roles`, role('pod-getter', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['web'] }]));
    expect(viewer.status, viewer.text).toBe(201);
    const bound = await asIntruder('POST', `${RBAC}/namespaces/${NAMESPACE}/rolebindings`, roleBinding('intruder-gets-pods', 'Role', 'pod-getter'));
    expect(bound.status, bound.text).toBe(201);
    // a binding of a missing role without `bind` says the role is missing, as upstream
    const dangling = await asIntruder('POST', `${RBAC}/namespaces/${NAMESPACE}/rolebindings`, roleBinding('dangling', 'Role', 'no-such-role'));
    expect(dangling.status, dangling.text).toBe(404);
    expect(dangling.json.message).toBe('roles.rbac.authorization.k8s.io "no-such-role" not found');
  });

  it('lets the ServiceAccount write the same Role once granted escalate, and bind cluster-admin once granted bind on it (resourceNames honoured)', async () => {
    await adminOk(['apply', '-f', '-'], `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: escalator, namespace: ${NAMESPACE}}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles]
  verbs: [escalate]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: intruder-escalates, namespace: ${NAMESPACE}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: escalator}
subjects:
- {kind: ServiceAccount, name: intruder, namespace: ${NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: binds-view-only}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [clusterroles]
  verbs: [bind]
  resourceNames: [view]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: intruder-binds-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: binds-view-only}
subjects:
- {kind: ServiceAccount, name: intruder, namespace: ${NAMESPACE}}
`);
    const created = await intruder.kubectl(['create', 'role', 'steal-secrets', '--verb=*', '--resource=secrets', '-n', NAMESPACE]);
    expect(created.code, created.stderr).toBe(0);
    // escalate on roles in its namespace is not escalate on clusterroles
    const clusterRole = await asIntruder('POST', `${RBAC}/clusterroles`, { metadata: { name: 'secrets-everywhere' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] });
    expect(clusterRole.status, clusterRole.text).toBe(403);
    // bind on clusterroles/view is not bind on clusterroles/cluster-admin
    const stillRefused = await asIntruder('POST', `${RBAC}/clusterrolebindings`, clusterRoleBinding('pwned', 'cluster-admin'));
    expect(stillRefused.status, stillRefused.text).toBe(403);
    await adminOk(['create', 'clusterrole', 'binds-cluster-admin', '--verb=bind', '--resource=clusterroles.rbac.authorization.k8s.io', '--resource-name=cluster-admin']);
    await adminOk(['create', 'clusterrolebinding', 'intruder-binds-cluster-admin', '--clusterrole=binds-cluster-admin', `--serviceaccount=${NAMESPACE}:intruder`]);
    const granted = await asIntruder('POST', `${RBAC}/clusterrolebindings`, clusterRoleBinding('pwned', 'cluster-admin'));
    expect(granted.status, granted.text).toBe(201);
  });
});

describe('threat - embedded API server: pods created by nodes', () => {
  it('attack - a node creating a pod that is not a mirror pod is refused', async () => {
    const created = await asNode('edge-a', { metadata: { name: 'not-mirror' }, spec: { nodeName: 'edge-a', containers: [{ name: 'c', image: 'busybox' }] } });
    expect(created.status, created.text).toBe(403);
    expect(created.json.message).toContain(`"${MIRROR}" annotation, node 'edge-a' can only create mirror pods`);
    expect(await metricValue(registry, 'kedge_apiserver_refused_writes_total', { reason: 'node-restriction' })).toBeGreaterThan(0);
  });

  it('attack - a node creating a mirror pod bound to another node, or to none, is refused', async () => {
    const elsewhere = await asNode('edge-a', mirrorPod('on-b', 'edge-b'));
    expect(elsewhere.status, elsewhere.text).toBe(403);
    expect(elsewhere.json.message).toContain("node 'edge-a' can only create pods with spec.nodeName set to itself");
    const unbound = await asNode('edge-a', { metadata: { name: 'unbound', annotations: { [MIRROR]: 'x' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    expect(unbound.status, unbound.text).toBe(403);
  });

  it('attack - a node creating a mirror pod that references a secret is refused (volume, env, envFrom, projected, imagePullSecrets, CSI)', async () => {
    const container = (extra: object): object => ({ containers: [{ name: 'c', image: 'busybox', ...extra }] });
    const specs: [string, object][] = [
      ['secret volume', { volumes: [{ name: 's', secret: { secretName: 'db-password' } }] }],
      ['env', container({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db-password', key: 'password' } } }] })],
      ['envFrom', container({ envFrom: [{ secretRef: { name: 'db-password' } }] })],
      ['projected', { volumes: [{ name: 'p', projected: { sources: [{ secret: { name: 'db-password' } }] } }] }],
      ['imagePullSecrets', { imagePullSecrets: [{ name: 'db-password' }] }],
      ['csi', { volumes: [{ name: 'v', csi: { driver: 'x.example.com', nodePublishSecretRef: { name: 'db-password' } } }] }],
    ];
    for (const [what, spec] of specs) {
      const created = await asNode('edge-a', mirrorPod(`secret-${what.replace(/\W/g, '').toLowerCase()}`, 'edge-a', { spec }));
      expect(created.status, `${what}: ${created.text}`).toBe(403);
      expect(created.json.message, what).toContain("node 'edge-a' can not create pods that reference secrets");
    }
    expect((await test.request('GET', '/api/v1/namespaces/default/pods')).json.items).toEqual([]);
  });

  it('attack - a node creating a mirror pod that references a configmap, a service account, a token or a claim is refused', async () => {
    const cases: [string, object, string][] = [
      ['configmap', { volumes: [{ name: 'c', configMap: { name: 'settings' } }] }, 'reference configmaps'],
      ['serviceaccount', { serviceAccountName: 'default' }, 'reference a service account'],
      ['token', { volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] }, 'service account tokens'],
      ['pvc', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] }, 'reference persistentvolumeclaims'],
      ['ephemeral', { volumes: [{ name: 'e', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } } }] }, 'ephemeral volumes'],
      ['claims', { resourceClaims: [{ name: 'gpu', resourceClaimName: 'gpu' }] }, 'reference resourceclaims'],
    ];
    for (const [what, spec, message] of cases) {
      const created = await asNode('edge-a', mirrorPod(`refs-${what}`, 'edge-a', { spec }));
      expect(created.status, `${what}: ${created.text}`).toBe(403);
      expect(created.json.message, what).toContain(message);
    }
  });

  it('attack - a node creating a mirror pod owned by another node is refused', async () => {
    const nodeB = await test.request('GET', '/api/v1/nodes/edge-b');
    const ownedByB = { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'edge-b', uid: nodeB.json.metadata.uid, controller: true }] };
    const created = await asNode('edge-a', mirrorPod('owned-by-b', 'edge-a', { metadata: ownedByB }));
    expect(created.status, created.text).toBe(403);
    expect(created.json.message).toContain('owner reference set to itself');
    const nodeA = await test.request('GET', '/api/v1/nodes/edge-a');
    const staleUid = { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'edge-a', uid: nodeB.json.metadata.uid, controller: true }] };
    const stale = await asNode('edge-a', mirrorPod('stale-uid', 'edge-a', { metadata: staleUid }));
    expect(stale.status, stale.text).toBe(403);
    expect(stale.json.message).toContain(`UID mismatch: expected ${nodeA.json.metadata.uid}`);
  });

  it('lets a node create a mirror pod of its own that references nothing, owned by its Node or not', async () => {
    const plain = await asNode('edge-a', mirrorPod('static-web', 'edge-a'));
    expect(plain.status, plain.text).toBe(201);
    // mirror pods get no default service account, as upstream's ServiceAccount admission skips them
    expect(plain.json.spec.serviceAccountName).toBeUndefined();
    const nodeA = await test.request('GET', '/api/v1/nodes/edge-a');
    const owner = { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'edge-a', uid: nodeA.json.metadata.uid, controller: true }] };
    const owned = await asNode('edge-a', mirrorPod('static-owned', 'edge-a', { metadata: owner }));
    expect(owned.status, owned.text).toBe(201);
    // the admin is not a node: its pods are not restricted
    const byAdmin = await test.request('POST', '/api/v1/namespaces/default/pods', { body: { metadata: { name: 'by-admin' }, spec: { nodeName: 'edge-b', containers: [{ name: 'c', image: 'busybox' }] } } });
    expect(byAdmin.status, byAdmin.text).toBe(201);
  });
});
