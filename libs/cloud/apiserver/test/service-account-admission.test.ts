// The ServiceAccount admission plugin's mutation on pod create, as kube-apiserver runs it: a
// kube-api-access-<random> projected volume (token, kube-root-ca.crt, namespace) mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container, unless automountServiceAccountToken
// is false on the pod or (when the pod says nothing) on its ServiceAccount. A token bound to a pod shows
// the pod in its user's extras (SelfSubjectReview), as kube-apiserver's does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer({});
  await test.kubectl(['create', 'namespace', 'sa-admission']);
  await test.request('POST', '/api/v1/namespaces/sa-admission/serviceaccounts', { body: { metadata: { name: 'quiet' }, automountServiceAccountToken: false } });
});

afterAll(async () => {
  await test.close();
});

async function createPod(name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await test.request('POST', '/api/v1/namespaces/sa-admission/pods', {
    body: { metadata: { name, annotations }, spec: { containers: [{ name: 'app', image: 'busybox' }], initContainers: [{ name: 'init', image: 'busybox' }], ...spec } },
  });
  expect(response.status, response.text).toBe(201);
  return response.json;
}

describe('service account admission - kube-api-access volume', () => {
  it('adds the projected volume and a read-only mount in every container', async () => {
    const pod = await createPod('plain', {});
    const volume = pod.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    expect(volume.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
    expect(volume.projected).toEqual({
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    });
    for (const container of [...pod.spec.containers, ...pod.spec.initContainers]) {
      expect(container.volumeMounts).toContainEqual({ name: volume.name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });
    }
    expect(pod.spec.serviceAccountName).toBe('default');
  });

  it('honours automountServiceAccountToken: the pod\'s first, else its ServiceAccount\'s', async () => {
    const hasVolume = (pod: Record<string, any>): boolean => (pod.spec.volumes ?? []).some((v: { name: string }) => v.name.startsWith('kube-api-access-')); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(hasVolume(await createPod('pod-says-no', { automountServiceAccountToken: false }))).toBe(false);
    expect(hasVolume(await createPod('account-says-no', { serviceAccountName: 'quiet' }))).toBe(false);
    expect(hasVolume(await createPod('pod-overrides-account', { serviceAccountName: 'quiet', automountServiceAccountToken: true }))).toBe(true);
    // a pod that mounts something of its own there keeps it
    const own = await createPod('own-mount', { volumes: [{ name: 'mine', emptyDir: {} }], containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'mine', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }] }] });
    expect(hasVolume(own)).toBe(false);
    // mirror pods reference no API object
    expect(hasVolume(await createPod('mirror', {}, { 'kubernetes.io/config.mirror': 'x' }))).toBe(false);
  });

  it('a token bound to a pod reviews with the pod in its extras (SelfSubjectReview)', async () => {
    const pod = await createPod('bound', {});
    const minted = await test.request('POST', '/api/v1/namespaces/sa-admission/serviceaccounts/default/token', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'bound', uid: pod.metadata.uid } } },
    });
    expect(minted.status, minted.text).toBe(201);
    const review = await test.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { token: minted.json.status.token, body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    expect(review.status, review.text).toBe(201);
    expect(review.json.status.userInfo).toMatchObject({
      username: 'system:serviceaccount:sa-admission:default',
      extra: { 'authentication.kubernetes.io/pod-name': ['bound'], 'authentication.kubernetes.io/pod-uid': [pod.metadata.uid] },
    });
  });
});
