// RBAC: Roles, ClusterRoles and their bindings grant service accounts, users and groups exactly what
// their rules say, checked with the real kubectl using a service account token, and the cloudcore
// ClusterRole and Role in deploy/cloudcore/02-rbac.yaml are shown to grant their rules and nothing more.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ruleAllows, type AuthorizationAttributes, type PolicyRule } from '../src/auth';
import { runKubectl, startTestServer, waitFor, writeTokenKubeconfig, type KubectlResult, type TestServer } from './harness';

const CLOUDCORE_RBAC = join(import.meta.dirname, '../../../../deploy/cloudcore/02-rbac.yaml');
const ALICE_TOKEN = 'alice-token-0123456789';

let test: TestServer;

interface ServiceAccountClient {
  token: string;
  kubectl(args: readonly string[]): Promise<KubectlResult>;
  get(path: string): Promise<number>;
}

async function asServiceAccount(namespace: string, name: string): Promise<ServiceAccountClient> {
  const minted = await test.kubectl(['create', 'token', name, '-n', namespace, '--duration=1h']);
  expect(minted.code, minted.stderr).toBe(0);
  const token = minted.stdout.trim();
  const kubeconfig = await writeTokenKubeconfig(test, token, join(test.dataDir, `${namespace}-${name}.kubeconfig`));
  return {
    token,
    kubectl: (args) => runKubectl(kubeconfig, join(test.dataDir, `cache-${namespace}-${name}`), args),
    get: async (path) => (await test.request('GET', path, { token })).status,
  };
}

async function apply(yaml: string): Promise<void> {
  const result = await test.kubectl(['apply', '-f', '-'], { input: yaml });
  expect(result.code, result.stderr).toBe(0);
}

async function adminOk(args: string[]): Promise<void> {
  const result = await test.kubectl(args);
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).toBe(0);
}

beforeAll(async () => {
  test = await startTestServer({ tokens: [{ token: ALICE_TOKEN, user: 'alice', groups: ['developers'] }] });
  for (const namespace of ['rbac-test', 'team-a', 'team-b', 'kedge']) await adminOk(['create', 'namespace', namespace]);
  for (const [namespace, name] of [['rbac-test', 'worker'], ['rbac-test', 'helper'], ['team-b', 'outsider'], ['kedge', 'cloudcore']]) {
    await adminOk(['create', 'serviceaccount', name!, '-n', namespace!]);
  }
  const pod = await test.request('POST', '/api/v1/namespaces/team-a/pods', { body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  expect(pod.status, pod.text).toBe(201);
  await adminOk(['create', 'configmap', 'allowed-cm', '-n', 'default', '--from-literal=a=1']);
  await adminOk(['create', 'configmap', 'other-cm', '-n', 'default', '--from-literal=a=2']);
});

afterAll(async () => {
  await test.close();
});

describe('rbac - service accounts', () => {
  it('refuses a service account without bindings with the upstream message, but lets it read discovery', async () => {
    const worker = await asServiceAccount('rbac-test', 'worker');
    const pods = await worker.kubectl(['get', 'pods']);
    expect(pods.code).not.toBe(0);
    expect(pods.stderr).toContain('pods is forbidden: User "system:serviceaccount:rbac-test:worker" cannot list resource "pods" in API group "" in the namespace "default"');
    const secrets = await test.request('GET', '/api/v1/namespaces/default/secrets', { token: worker.token });
    expect(secrets.status).toBe(403);
    expect(secrets.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(secrets.json.message).toBe('secrets is forbidden: User "system:serviceaccount:rbac-test:worker" cannot list resource "secrets" in API group "" in the namespace "default"');
    for (const path of ['/api', '/api/v1', '/apis', '/apis/rbac.authorization.k8s.io/v1', '/version', '/openapi/v3']) expect(await worker.get(path), path).toBe(200);
    const metrics = await test.request('GET', '/metrics', { token: worker.token });
    expect(metrics.status).toBe(403);
    expect(metrics.json.message).toBe('forbidden: User "system:serviceaccount:rbac-test:worker" cannot get path "/metrics"');
  });

  it('allows what a Role grants through a RoleBinding in its namespace only, watches included', async () => {
    await apply(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: team-a}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: worker-reads-pods, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {kind: ServiceAccount, name: worker, namespace: rbac-test}
`);
    const worker = await asServiceAccount('rbac-test', 'worker');
    const listed = await worker.kubectl(['get', 'pods', '-n', 'team-a', '-o', 'name']);
    expect(listed.stdout.trim(), listed.stderr).toBe('pod/web');
    const elsewhere = await worker.kubectl(['get', 'pods', '-n', 'team-b']);
    expect(elsewhere.stderr).toContain('cannot list resource "pods" in API group "" in the namespace "team-b"');
    expect(await worker.get('/api/v1/namespaces/team-a/pods?watch=1&timeoutSeconds=1')).toBe(200);
    expect(await worker.get('/api/v1/namespaces/team-b/pods?watch=1&timeoutSeconds=1')).toBe(403);
    expect(await worker.get('/api/v1/pods')).toBe(403); // all namespaces needs a ClusterRoleBinding
    expect(await worker.get('/api/v1/namespaces/team-a/configmaps')).toBe(403);

    const canList = await worker.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'team-a']);
    expect([canList.code, canList.stdout.trim()]).toEqual([0, 'yes']);
    const cannotDelete = await worker.kubectl(['auth', 'can-i', 'delete', 'pods', '-n', 'team-a']);
    expect([cannotDelete.code, cannotDelete.stdout.trim()]).toEqual([1, 'no']);
    const cannotElsewhere = await worker.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'team-b']);
    expect(cannotElsewhere.stdout.trim()).toBe('no');
  });

  it('matches resourceNames for named requests only: get that name, never an unscoped list', async () => {
    await adminOk(['create', 'clusterrole', 'one-configmap', '--verb=get,list,watch', '--resource=configmaps', '--resource-name=allowed-cm']);
    await adminOk(['create', 'clusterrolebinding', 'helper-one-configmap', '--clusterrole=one-configmap', '--serviceaccount=rbac-test:helper']);
    const helper = await asServiceAccount('rbac-test', 'helper');
    const allowed = await helper.kubectl(['get', 'configmap', 'allowed-cm', '-n', 'default', '-o', 'name']);
    expect(allowed.stdout.trim(), allowed.stderr).toBe('configmap/allowed-cm');
    const other = await helper.kubectl(['get', 'configmap', 'other-cm', '-n', 'default']);
    expect(other.stderr).toContain('configmaps "other-cm" is forbidden: User "system:serviceaccount:rbac-test:helper" cannot get resource "configmaps"');
    const list = await helper.kubectl(['get', 'configmaps', '-n', 'default']);
    expect(list.stderr).toContain('cannot list resource "configmaps" in API group "" in the namespace "default"');
    // a list or watch pinned to the name by a field selector is a request for that name, as upstream
    expect(await helper.get('/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dallowed-cm')).toBe(200);
    expect(await helper.get('/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dother-cm')).toBe(403);
    const canGet = await helper.kubectl(['auth', 'can-i', 'get', 'configmap/allowed-cm', '-n', 'default']);
    expect(canGet.stdout.trim()).toBe('yes');
  });

  it('tells a subresource rule from the resource: pods/status patch allowed, pods patch refused', async () => {
    await apply(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-status-writer, namespace: team-a}
rules:
- apiGroups: [""]
  resources: [pods, pods/status]
  verbs: [get]
- apiGroups: [""]
  resources: [pods/status]
  verbs: [patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: helper-writes-pod-status, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-status-writer}
subjects:
- {kind: ServiceAccount, name: helper, namespace: rbac-test}
`);
    const helper = await asServiceAccount('rbac-test', 'helper');
    const status = await helper.kubectl(['patch', 'pod', 'web', '-n', 'team-a', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
    expect(status.code, status.stderr).toBe(0);
    const main = await helper.kubectl(['patch', 'pod', 'web', '-n', 'team-a', '--type=merge', '-p', '{"metadata":{"labels":{"touched":"yes"}}}']);
    expect(main.stderr).toContain('pods "web" is forbidden: User "system:serviceaccount:rbac-test:helper" cannot patch resource "pods" in API group "" in the namespace "team-a"');
    const canPatchStatus = await helper.kubectl(['auth', 'can-i', 'patch', 'pods', '--subresource=status', '-n', 'team-a']);
    expect(canPatchStatus.stdout.trim()).toBe('yes');
    const listed = await helper.kubectl(['auth', 'can-i', '--list', '-n', 'team-a']);
    expect(listed.stdout, listed.stderr).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs\n/);
    expect(listed.stdout).toMatch(/\npods\/status\s+\[\]\s+\[\]\s+\[get patch\]\n/);
    expect(listed.stdout).toMatch(/\nconfigmaps\s+\[\]\s+\[allowed-cm\]\s+\[get list watch\]\n/);
  });

  it('binds groups: every service account of a namespace, and a static-token user by its group', async () => {
    await adminOk(['create', 'clusterrole', 'node-reader', '--verb=get,list', '--resource=nodes']);
    await adminOk(['create', 'clusterrolebinding', 'rbac-test-accounts-read-nodes', '--clusterrole=node-reader', '--group=system:serviceaccounts:rbac-test']);
    await adminOk(['create', 'clusterrole', 'namespace-reader', '--verb=list', '--resource=namespaces']);
    await adminOk(['create', 'clusterrolebinding', 'developers-read-namespaces', '--clusterrole=namespace-reader', '--group=developers']);
    for (const name of ['worker', 'helper']) expect(await (await asServiceAccount('rbac-test', name)).get('/api/v1/nodes'), name).toBe(200);
    expect(await (await asServiceAccount('team-b', 'outsider')).get('/api/v1/nodes')).toBe(403);
    expect((await test.request('GET', '/api/v1/namespaces', { token: ALICE_TOKEN })).status).toBe(200);
    expect((await test.request('GET', '/api/v1/nodes', { token: ALICE_TOKEN })).status).toBe(403);
  });

  it('lets system:masters impersonate (kubectl --as), and nobody else without the impersonate verb', async () => {
    const asWorker = await test.kubectl(['get', 'pods', '-n', 'team-b', '--as=system:serviceaccount:rbac-test:worker']);
    expect(asWorker.stderr).toContain('pods is forbidden: User "system:serviceaccount:rbac-test:worker" cannot list resource "pods" in API group "" in the namespace "team-b"');
    // an impersonated service account has its namespace's groups, so the group binding applies
    const canI = await test.kubectl(['auth', 'can-i', 'list', 'nodes', '--as=system:serviceaccount:rbac-test:helper']);
    expect(canI.stdout.trim()).toBe('yes');
    const byAlice = await test.request('GET', '/api/v1/namespaces', { token: ALICE_TOKEN, headers: { 'impersonate-user': 'bob' } });
    expect(byAlice.status).toBe(403);
    expect(byAlice.json.message).toBe('users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope');
    const groupOnly = await test.request('GET', '/api/v1/namespaces', { headers: { 'impersonate-group': 'developers' } });
    expect(groupOnly.status).toBe(400);
  });

  it('revokes access when the binding is deleted', async () => {
    const worker = await asServiceAccount('rbac-test', 'worker');
    expect(await worker.get('/api/v1/namespaces/team-a/pods')).toBe(200);
    await adminOk(['delete', 'rolebinding', 'worker-reads-pods', '-n', 'team-a']);
    await waitFor(async () => (await worker.get('/api/v1/namespaces/team-a/pods')) === 403, 'the deleted RoleBinding to stop granting', 10_000);
    const canList = await worker.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'team-a']);
    expect(canList.stdout.trim()).toBe('no');
  });
});

describe('rbac - kinds', () => {
  it('validates rules, roleRef and subjects with 422 causes naming the field', async () => {
    const invalid = async (path: string, body: object, method = 'POST') => {
      const response = await test.request(method, path, { body });
      expect(response.status, response.text).toBe(422);
      return response.json.details.causes as { field: string; reason: string; message: string }[];
    };
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    expect(await invalid(`${rbac}/clusterroles`, { metadata: { name: 'no-verbs' }, rules: [{ apiGroups: [''], resources: ['pods'] }] })).toContainEqual(
      expect.objectContaining({ field: 'rules[0].verbs', reason: 'FieldValueRequired' }),
    );
    expect(await invalid(`${rbac}/namespaces/default/roles`, { metadata: { name: 'urls' }, rules: [{ nonResourceURLs: ['/x'], verbs: ['get'] }] })).toContainEqual(
      expect.objectContaining({ field: 'rules[0].nonResourceURLs', message: expect.stringContaining('namespaced rules cannot apply to non-resource URLs') }),
    );
    expect(await invalid(`${rbac}/namespaces/default/rolebindings`, { metadata: { name: 'no-ref' }, subjects: [] })).toContainEqual(
      expect.objectContaining({ field: 'roleRef', reason: 'FieldValueRequired' }),
    );
    const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'node-reader' };
    const badSubjects = await invalid(`${rbac}/clusterrolebindings`, {
      metadata: { name: 'bad-subjects' },
      roleRef: { ...roleRef, kind: 'Role' },
      subjects: [{ kind: 'Robot', name: 'r2' }, { kind: 'ServiceAccount', name: 'sa' }],
    });
    expect(badSubjects.map((cause) => [cause.field, cause.reason])).toEqual([
      ['roleRef.kind', 'FieldValueNotSupported'],
      ['subjects[0].kind', 'FieldValueNotSupported'],
      ['subjects[1].namespace', 'FieldValueRequired'],
    ]);

    const created = await test.request('POST', `${rbac}/clusterrolebindings`, {
      body: { metadata: { name: 'fixed-ref' }, roleRef, subjects: [{ kind: 'User', name: 'bob' }] },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.subjects[0].apiGroup).toBe('rbac.authorization.k8s.io'); // defaulted, as upstream
    const changed = await test.request('PUT', `${rbac}/clusterrolebindings/fixed-ref`, { body: { ...created.json, roleRef: { ...roleRef, name: 'namespace-reader' } } });
    expect(changed.status).toBe(422);
    expect(changed.json.message).toContain('roleRef: Invalid value');
    expect(changed.json.message).toContain('cannot change roleRef');
  });

  it('prints roles with their creation time and bindings with their role, and keeps aggregationRule', async () => {
    const roles = await test.kubectl(['get', 'clusterrole', 'node-reader']);
    expect(roles.stdout).toMatch(/^NAME\s+CREATED AT\nnode-reader\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    const bindings = await test.kubectl(['get', 'rolebindings', '-n', 'team-a', '-o', 'wide']);
    expect(bindings.stdout).toMatch(/^NAME\s+ROLE\s+AGE\s+USERS\s+GROUPS\s+SERVICEACCOUNTS\n/);
    expect(bindings.stdout).toMatch(/helper-writes-pod-status\s+Role\/pod-status-writer\s+\S+\s+rbac-test\/helper\n/);
    await adminOk(['create', 'clusterrole', 'aggregated', '--aggregation-rule=rbac.example.com/aggregate=true']);
    const aggregated = await test.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/aggregated');
    expect(aggregated.json.aggregationRule).toEqual({ clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }] });
    const defaults = await test.kubectl(['get', 'clusterrolebindings', '-o', 'name']);
    expect(defaults.stdout).toContain('clusterrolebinding.rbac.authorization.k8s.io/system:discovery');
  });

  it('matches rules as rbac/v1 does: wildcards, */subresource, URL prefixes', () => {
    const rule = (partial: Partial<PolicyRule>): PolicyRule => ({ verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...partial });
    const request = (verb: string, resource: string, subresource?: string, name?: string): AuthorizationAttributes => ({
      kind: 'resource', verb, apiGroup: 'apps', resource, subresource, namespace: 'default', name,
    });
    expect(ruleAllows(rule({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }), request('delete', 'deployments', 'scale'))).toBe(true);
    expect(ruleAllows(rule({ verbs: ['get'], apiGroups: ['apps'], resources: ['*/scale'] }), request('get', 'deployments', 'scale'))).toBe(true);
    expect(ruleAllows(rule({ verbs: ['get'], apiGroups: ['apps'], resources: ['deployments'] }), request('get', 'deployments', 'scale'))).toBe(false);
    expect(ruleAllows(rule({ verbs: ['get'], apiGroups: [''], resources: ['deployments'] }), request('get', 'deployments'))).toBe(false);
    const named = rule({ verbs: ['*'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] });
    expect(ruleAllows(named, request('update', 'deployments', undefined, 'web'))).toBe(true);
    for (const verb of ['list', 'watch', 'create', 'deletecollection']) expect(ruleAllows(named, request(verb, 'deployments')), verb).toBe(false);
    const urls = rule({ verbs: ['get'], nonResourceURLs: ['/healthz', '/logs/*'] });
    expect(ruleAllows(urls, { kind: 'nonResource', verb: 'get', path: '/logs/kubelet.log' })).toBe(true);
    expect(ruleAllows(urls, { kind: 'nonResource', verb: 'get', path: '/healthz/etcd' })).toBe(false);
    expect(ruleAllows(urls, { kind: 'nonResource', verb: 'post', path: '/healthz' })).toBe(false);
  });
});

interface ManifestRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

describe('rbac - the cloudcore role', () => {
  it('grants cloudcore every rule of deploy/cloudcore/02-rbac.yaml and nothing beyond them', async () => {
    const manifest = await readFile(CLOUDCORE_RBAC, 'utf8');
    await apply(manifest);
    const cloudcore = await asServiceAccount('kedge', 'cloudcore');
    const roles = parseAllDocuments(manifest)
      .map((document) => document.toJS() as { kind: string; metadata: { namespace?: string }; rules?: ManifestRule[] })
      .filter((object) => object.kind === 'ClusterRole' || object.kind === 'Role');
    expect(roles.length).toBeGreaterThan(0);
    const canI = async (verb: string, group: string, resourceWithSubresource: string, namespace: string, name?: string): Promise<boolean> => {
      const [resource = '', subresource] = resourceWithSubresource.split('/');
      const resourceAttributes = { verb, group, resource, subresource, namespace, name };
      const review = await test.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        token: cloudcore.token,
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } },
      });
      expect(review.status, review.text).toBe(201);
      return review.json.status.allowed === true;
    };
    // cluster-wide grants, for telling that a refusal is not explained by another rule
    const grantedEverywhere = (verb: string, group: string, resource: string): boolean =>
      roles.some((role) => role.kind === 'ClusterRole' && (role.rules ?? []).some((rule) =>
        (rule.resourceNames ?? []).length === 0 && (rule.apiGroups ?? []).includes(group) && (rule.resources ?? []).includes(resource) && rule.verbs.includes(verb)));
    for (const role of roles) {
      // a Role's rules hold in its namespace; a ClusterRole bound by a ClusterRoleBinding holds in any namespace
      const namespace = role.kind === 'Role' ? (role.metadata.namespace ?? 'kedge') : 'team-b';
      for (const rule of role.rules ?? []) {
        expect(rule.verbs.includes('*') || (rule.resources ?? []).includes('*') || (rule.apiGroups ?? []).includes('*'), 'no wildcards').toBe(false);
        for (const group of rule.apiGroups ?? []) {
          for (const resource of rule.resources ?? []) {
            const names = rule.resourceNames ?? [];
            for (const verb of ALL_VERBS) {
              const granted = rule.verbs.includes(verb);
              for (const name of names.length === 0 ? [undefined] : names) {
                expect(await canI(verb, group, resource, namespace, name), `${verb} ${group}/${resource} ${name ?? ''} in ${namespace}`).toBe(
                  granted || grantedEverywhere(verb, group, resource),
                );
              }
              if (names.length > 0 && !grantedEverywhere(verb, group, resource)) {
                expect(await canI(verb, group, resource, namespace, 'some-other-name'), `${verb} ${resource} of another name`).toBe(false);
                if (role.kind === 'Role') expect(await canI(verb, group, resource, 'default', names[0]), `${verb} ${resource} outside ${namespace}`).toBe(false);
              }
            }
          }
        }
      }
    }
    // and the kubectl view of it
    const listNodes = await cloudcore.kubectl(['auth', 'can-i', 'list', 'nodes']);
    expect(listNodes.stdout.trim()).toBe('yes');
    const readSecret = await cloudcore.kubectl(['auth', 'can-i', 'get', 'secrets', '-n', 'default']);
    expect(readSecret.stdout.trim()).toBe('no');
    const forbidden = await cloudcore.kubectl(['get', 'secrets', 'anything', '-n', 'default']);
    expect(forbidden.stderr).toContain('secrets "anything" is forbidden: User "system:serviceaccount:kedge:cloudcore" cannot get resource "secrets" in API group "" in the namespace "default"');
  });
});
