// kubectl get -w while objects change, and kubectl delete --wait with graceful pod deletion.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configMapManifest, podManifest } from './fixtures/manifests';
import { spawnKubectl, startTestServer, waitFor, type TestServer } from './harness';

let test: TestServer;

beforeEach(async () => {
  test = await startTestServer();
});

afterEach(async () => {
  await test.close();
});

describe('kubectl get -w', () => {
  it('sees a create, an update and a delete as they happen', async () => {
    // an object that exists before the watch starts shows up first, so we know kubectl is watching
    await test.request('POST', '/api/v1/namespaces/default/configmaps', { body: { metadata: { name: 'before' }, data: {} } });
    const watch = spawnKubectl(test, ['get', 'configmaps', '-n', 'default', '-w', '--output-watch-events']);
    try {
      await waitFor(() => /ADDED\s+before\s+0\s+/.test(watch.output()), 'the watch to start');
      const file = join(test.dataDir, 'cm.yaml');
      await writeFile(file, configMapManifest('watched', { a: '1' }, 'default'));
      await test.kubectl(['apply', '-f', file]);
      await waitFor(() => /ADDED\s+watched\s+1\s+/.test(watch.output()), 'ADDED watched');
      await test.kubectl(['patch', 'configmap', 'watched', '--type=merge', '-p', '{"data":{"b":"2"}}']);
      await waitFor(() => /MODIFIED\s+watched\s+2\s+/.test(watch.output()), 'MODIFIED watched');
      await test.kubectl(['delete', 'configmap', 'watched']);
      await waitFor(() => /DELETED\s+watched\s+2\s+/.test(watch.output()), 'DELETED watched');
      expect(watch.output()).toMatch(/EVENT\s+NAME\s+DATA\s+AGE/);
    } finally {
      watch.child.kill();
    }
  });

  it('streams JSON objects with -o json', async () => {
    const watch = spawnKubectl(test, ['get', 'pods', '-A', '-w', '-o', 'json']);
    try {
      await test.request('POST', '/api/v1/namespaces/default/pods', {
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'json-watched' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      });
      await waitFor(() => watch.output().includes('"name": "json-watched"'), 'the pod in the JSON stream');
    } finally {
      watch.child.kill();
    }
  });
});

describe('kubectl delete', () => {
  it('deletes an unscheduled pod at once and --wait returns', async () => {
    const file = join(test.dataDir, 'pod.yaml');
    await writeFile(file, podManifest('loose'));
    await test.kubectl(['apply', '-f', file]);
    const deleted = await test.kubectl(['delete', 'pod', 'loose', '--wait=true', '--timeout=20s']);
    expect(deleted.stdout).toContain('pod "loose" deleted');
    expect(deleted.code).toBe(0);
    const get = await test.kubectl(['get', 'pod', 'loose']);
    expect(get.stderr).toContain('pods "loose" not found');
  });

  it('keeps a pod bound to a node Terminating for its grace period, and --grace-period=0 --force removes it', async () => {
    const file = join(test.dataDir, 'pod.yaml');
    await writeFile(file, podManifest('bound', { nodeName: 'edge-1' }));
    await test.kubectl(['apply', '-f', file]);
    const graceful = await test.kubectl(['delete', 'pod', 'bound', '--wait=false']);
    expect(graceful.stdout).toContain('pod "bound" deleted');
    const pod = JSON.parse((await test.kubectl(['get', 'pod', 'bound', '-o', 'json'])).stdout);
    expect(pod.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(Date.parse(pod.metadata.deletionTimestamp) - Date.now()).toBeGreaterThan(20_000);
    expect((await test.kubectl(['get', 'pod', 'bound'])).stdout).toMatch(/bound\s+0\/1\s+Terminating\s+/);
    // kubectl delete --wait would now wait for the node; --force with grace 0 is the node-less way out
    const forced = await test.kubectl(['delete', 'pod', 'bound', '--grace-period=0', '--force', '--wait=true', '--timeout=20s']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('pod "bound" force deleted');
    expect((await test.kubectl(['get', 'pods', '-o', 'name'])).stdout).toBe('');
  });

  it('waits with --wait until finalizers are removed', async () => {
    const file = join(test.dataDir, 'cm.yaml');
    await writeFile(file, configMapManifest('held', { a: '1' }, 'default').replace('  name: held\n', '  name: held\n  finalizers: [example.com/hold]\n'));
    await test.kubectl(['apply', '-f', file]);
    const deletion = test.kubectl(['delete', 'configmap', 'held', '--wait=true', '--timeout=20s']);
    await waitFor(async () => {
      const response = await test.request('GET', '/api/v1/namespaces/default/configmaps/held');
      return response.json?.metadata?.deletionTimestamp !== undefined;
    }, 'the configmap to be marked for deletion');
    const removed = await test.kubectl(['patch', 'configmap', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect(removed.code).toBe(0);
    const result = await deletion;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('configmap "held" deleted');
    expect((await test.request('GET', '/api/v1/namespaces/default/configmaps/held')).status).toBe(404);
  });
});
