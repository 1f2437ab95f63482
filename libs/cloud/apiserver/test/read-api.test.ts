// The shared read API conformance suite (@kedge/testkit) against the embedded API server: a real server
// on 127.0.0.1 over a temp SQLite file, seeded and changed through its own HTTPS write API.
import type { KubeObject } from '@kedge/kube-core';
import { READ_API_SEED, describeReadApi } from '@kedge/testkit';
import { startTestServer } from './harness';

const PLURALS: Record<string, string> = { Pod: 'pods', ConfigMap: 'configmaps', Namespace: 'namespaces' };

describeReadApi('apiserver', async () => {
  const test = await startTestServer();
  const pathOf = (object: KubeObject, named: boolean): string => {
    const namespace = object.metadata.namespace === undefined ? '' : `/namespaces/${object.metadata.namespace}`;
    return `/api/v1${namespace}/${PLURALS[object.kind ?? ''] ?? ''}${named ? `/${object.metadata.name ?? ''}` : ''}`;
  };
  const put = async (object: KubeObject): Promise<void> => {
    const existing = await test.request('GET', pathOf(object, true));
    const answer =
      existing.status === 404 ? await test.request('POST', pathOf(object, false), { body: object }) : await test.request('PUT', pathOf(object, true), { body: object });
    if (answer.status >= 300) throw new Error(`${answer.status} writing ${pathOf(object, true)}: ${answer.text}`);
  };
  for (const namespace of ['alpha', 'beta']) await put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  for (const object of READ_API_SEED) await put(object);
  return {
    url: test.server.url,
    headers: { authorization: `Bearer ${test.server.adminToken}` },
    caPem: test.server.caCertPem,
    kubectlArgs: ['--kubeconfig', test.server.adminKubeconfigPath],
    put,
    forgetHistory: async () => {
      test.server.storage.compact(0);
    },
    close: () => test.close(),
  };
});
