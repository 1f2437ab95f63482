// The threat suite of the embedded API server for pod volume paths (issue 12, item 8): a pod whose subPath or
// item path climbs out of its volume, or whose file mode carries setuid bits, is refused at the API, over a
// real HTTPS socket and with the real kubectl, as upstream refuses it (validateLocalDescendingPath,
// validateSubPath, 0..0777 modes). edged refuses the same pods again if one reaches it another way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requires } from '@kedge/testkit';
import { startTestServer, type TestServer } from './harness';

const withKubectl = await requires('kubectl');

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  await test.close();
});

const PODS = '/api/v1/namespaces/default/pods';

const pod = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'busybox' }], ...spec },
});

/** POSTs the pod and returns the causes of the 422, or fails when it was accepted */
async function refusedCauses(body: object): Promise<string[]> {
  const response = await test.request('POST', PODS, { body });
  expect(response.status, response.text).toBe(422);
  expect(response.json.reason).toBe('Invalid');
  return (response.json.details.causes as { field: string; message: string }[]).map((c) => `${c.field}: ${c.message}`);
}

describe('threat - pod volume paths at the API server', () => {
  it('attack - a subPath with ".." that climbs out of its volume is refused', async () => {
    const causes = await refusedCauses(
      pod('up', { volumes: [{ name: 'data', emptyDir: {} }], containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/up', subPath: '../../../etc' }] }] }),
    );
    expect(causes).toEqual([expect.stringMatching(/^spec\.containers\[0\]\.volumeMounts\[0\]\.subPath: .*must not contain '\.\.'/)]);
  });

  it('attack - an absolute subPath is refused', async () => {
    const causes = await refusedCauses(
      pod('abs', { volumes: [{ name: 'data', emptyDir: {} }], containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/abs', subPath: '/etc' }] }] }),
    );
    expect(causes).toEqual([expect.stringMatching(/^spec\.containers\[0\]\.volumeMounts\[0\]\.subPath: .*must be a relative path/)]);
  });

  it('attack - configMap, secret and projected items paths that climb out or are absolute are refused', async () => {
    const causes = await refusedCauses(
      pod('items', {
        volumes: [
          { name: 'a', configMap: { name: 'c', items: [{ key: 'k', path: '../../etc/cron.d/x' }] } },
          { name: 'b', secret: { secretName: 's', items: [{ key: 'k', path: '/etc/shadow' }] } },
          { name: 'c', projected: { sources: [{ downwardAPI: { items: [{ path: 'ok/../../x', fieldRef: { fieldPath: 'metadata.name' } }] } }] } },
        ],
      }),
    );
    expect(causes).toEqual([
      expect.stringMatching(/^spec\.volumes\[0\]\.configMap\.items\[0\]\.path: .*must not contain '\.\.'/),
      expect.stringMatching(/^spec\.volumes\[0\]\.configMap\.items\[0\]\.path: .*must not start with '\.\.'/),
      expect.stringMatching(/^spec\.volumes\[1\]\.secret\.items\[0\]\.path: .*must be a relative path/),
      expect.stringMatching(/^spec\.volumes\[2\]\.projected\.sources\[0\]\.downwardAPI\.items\[0\]\.path: .*must not contain '\.\.'/),
    ]);
  });

  it('attack - a setuid file mode (above 0777) on a volume is refused', async () => {
    const causes = await refusedCauses(pod('modes', { volumes: [{ name: 'a', configMap: { name: 'c', defaultMode: 0o4755, items: [{ key: 'k', path: 'k', mode: 0o6777 }] } }] }));
    expect(causes).toEqual([
      'spec.volumes[0].configMap.defaultMode: Invalid value: 2541: must be a number between 0 and 0777 (octal), both inclusive',
      'spec.volumes[0].configMap.items[0].mode: Invalid value: 3583: must be a number between 0 and 0777 (octal), both inclusive',
    ]);
  });

  withKubectl.it('attack - kubectl apply of a pod with a ".." subPath is refused, naming the field', async () => {
    const result = await test.kubectl(['apply', '-f', '-'], {
      input: JSON.stringify(pod('kubectl-up', { volumes: [{ name: 'data', emptyDir: {} }], containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/up', subPath: 'a/../../b' }] }] })),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.containers\[0\]\.volumeMounts\[0\]\.subPath: Invalid value: "a\/\.\.\/\.\.\/b": must not contain '\.\.'/);
  });

  it('volume paths - relative descending paths and modes up to 0777 are accepted', async () => {
    const response = await test.request('POST', PODS, {
      body: pod('fine', {
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'conf', configMap: { name: 'c', defaultMode: 0o440, items: [{ key: 'k', path: 'conf/..app.conf', mode: 0o777 }] } }],
        containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/d', subPath: 'a/b..c' }, { name: 'conf', mountPath: '/c' }] }],
      }),
    });
    expect(response.status, response.text).toBe(201);
  });
});
