// The shared read API conformance suite (@kedge/testkit) against MetaServer: a real server on
// 127.0.0.1 over a real SQLite store, seeded and changed by down messages as the cloud sends them.
import { join } from 'node:path';
import type { KubeObject } from '@kedge/kube-core';
import { READ_API_SEED, describeReadApi } from '@kedge/testkit';
import { Cleanup, downMessage, openStore, tempDir } from './fixtures';
import { startLocalServer } from './server-fixtures';

const TYPES: Record<string, string> = { Pod: 'pod', ConfigMap: 'configmap' };
// a short change log, so that a few changes are enough to compact a resourceVersion away
const KEEP_CHANGES = 2;

describeReadApi('metaserver', async () => {
  const cleanup = new Cleanup();
  const store = openStore(cleanup, join(tempDir(cleanup), 'edgecore.db'), { keepChanges: KEEP_CHANGES });
  let cloudResourceVersion = 100;
  const put = async (object: KubeObject): Promise<void> => {
    const rv = String(++cloudResourceVersion);
    const { name = '', namespace = 'null' } = object.metadata;
    const content = { ...object, metadata: { ...object.metadata, uid: `uid-${namespace}-${name}`, creationTimestamp: new Date().toISOString(), resourceVersion: rv } };
    const result = store.apply(downMessage({ type: TYPES[object.kind ?? ''], namespace, name, rv, content }));
    if (!result.applied) throw new Error(`down message for ${namespace}/${name} not applied: ${result.reason}`);
  };
  for (const object of READ_API_SEED) await put(object);
  // as edgecore serves it: HTTPS with the local CA, the local credential, kubectl through the written kubeconfig
  const { server, credential, kubeconfig } = await startLocalServer(cleanup, store);
  return {
    url: server.url,
    headers: { authorization: `Bearer ${credential.token}` },
    caPem: credential.caPem,
    kubectlArgs: ['--kubeconfig', kubeconfig],
    put,
    // MetaStore compacts as it goes, keeping the last KEEP_CHANGES changes: push older ones out
    forgetHistory: async () => {
      for (let index = 0; index <= KEEP_CHANGES; index++) {
        await put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'scratch', name: 'history' }, data: { index: String(index) } });
      }
    },
    close: () => cleanup.run(),
  };
});
