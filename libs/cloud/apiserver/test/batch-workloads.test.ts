// batch/v1 Job and CronJob and apps/v1 ControllerRevision through the real kubectl: `kubectl create
// job|cronjob` (sent as protobuf), the Job strategy's generated selector and labels, defaults,
// validation with upstream's field paths, what an update may not change, and the tables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer();
});

afterAll(async () => {
  await test.close();
});

async function ok(args: string[], input?: string): Promise<string> {
  const result = await test.kubectl(args, input === undefined ? {} : { input });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

async function getJson(kind: string, name: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(await ok(['get', kind, name, '-o', 'json'])) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function job(name: string, restartPolicy = 'Never', extra = ''): string {
  return `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
${extra}  template:
    spec:
      restartPolicy: ${restartPolicy}
      containers: [{name: work, image: busybox:1.36}]
`;
}

describe('batch workloads', () => {
  it('batch - kubectl create job (protobuf) gets the generated selector, the job labels and upstream defaults', async () => {
    await ok(['create', 'job', 'once', '--image=busybox:1.36', '--', 'sh', '-c', 'exit 0']);
    const created = await getJson('job', 'once');
    const uid = created['metadata'].uid as string;
    expect(created['spec']).toMatchObject({
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    });
    expect(created['spec'].template.metadata.labels).toEqual({
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'once',
      'controller-uid': uid,
      'job-name': 'once',
    });
    expect(created['metadata'].labels['batch.kubernetes.io/job-name']).toBe('once');
    expect(created['spec'].template.spec).toMatchObject({ restartPolicy: 'Never', dnsPolicy: 'ClusterFirst' });
    expect(await ok(['get', 'jobs'])).toMatch(/NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nonce\s+Running\s+0\/1/);
  });

  it('batch - kubectl create cronjob (protobuf) and its defaults; job --from=cronjob carries the manual annotation and owner', async () => {
    await ok(['create', 'cronjob', 'nightly', '--image=busybox:1.36', '--schedule=0 3 * * *', '--', 'true']);
    const cronJob = await getJson('cronjob', 'nightly');
    expect(cronJob['spec']).toMatchObject({ concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1, schedule: '0 3 * * *' });
    await ok(['create', 'job', 'nightly-manual', '--from=cronjob/nightly']);
    const manual = await getJson('job', 'nightly-manual');
    expect(manual['metadata'].annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(manual['metadata'].ownerReferences[0]).toMatchObject({ apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', controller: true, uid: cronJob['metadata'].uid });
    expect(await ok(['get', 'cronjobs'])).toMatch(/nightly\s+0 3 \* \* \*\s+<none>\s+False\s+0\s+<none>/);
  });

  it('batch - invalid Jobs are refused naming the field: restartPolicy Always, Indexed without completions, a negative backoffLimit', async () => {
    const always = await test.kubectl(['apply', '-f', '-'], { input: job('always', 'Always') });
    expect(always.stderr).toContain('spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"');
    const indexed = await test.kubectl(['apply', '-f', '-'], { input: job('indexed', 'Never', '  completionMode: Indexed\n  parallelism: 2\n') });
    expect(indexed.stderr).toContain('spec.completions: Required value');
    const negative = await test.kubectl(['apply', '-f', '-'], { input: job('negative', 'Never', '  backoffLimit: -1\n') });
    expect(negative.stderr).toContain('spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0');
    const policy = await test.kubectl(['apply', '-f', '-'], { input: job('policy', 'Never', '  podFailurePolicy:\n    rules:\n    - action: Explode\n      onExitCodes: {operator: In, values: [0]}\n') });
    expect(policy.stderr).toContain('spec.podFailurePolicy.rules[0].action: Unsupported value: "Explode"');
    expect(policy.stderr).toContain('spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0');
  });

  it('batch - a Job template and completions are immutable; suspend and parallelism may change', async () => {
    await ok(['apply', '-f', '-'], job('steady', 'Never', '  completions: 3\n  parallelism: 1\n'));
    await ok(['patch', 'job', 'steady', '--type=merge', '-p', '{"spec":{"parallelism":2,"suspend":true}}']);
    const template = await test.kubectl(['patch', 'job', 'steady', '--type=merge', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"work","image":"busybox:1.37"}]}}}}']);
    expect(template.stderr).toContain('spec.template: Invalid value');
    expect(template.stderr).toContain('field is immutable');
    const completions = await test.kubectl(['patch', 'job', 'steady', '--type=merge', '-p', '{"spec":{"completions":5}}']);
    expect(completions.stderr).toContain('spec.completions: Invalid value: 5: field is immutable');
  });

  it('batch - invalid CronJobs are refused: bad schedule fields, concurrencyPolicy, a name too long for its Jobs', async () => {
    const bad = await test.kubectl(['create', 'cronjob', 'bad', '--image=busybox:1.36', '--schedule=61 * * * *']);
    expect(bad.stderr).toContain('spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59)');
    const policy = await test.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: batch/v1
kind: CronJob
metadata: {name: racy}
spec:
  schedule: "@hourly"
  concurrencyPolicy: Sometimes
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: work, image: busybox:1.36}]
`,
    });
    expect(policy.stderr).toContain('spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"');
    const long = await test.kubectl(['create', 'cronjob', 'x'.repeat(53), '--image=busybox:1.36', '--schedule=@daily']);
    expect(long.stderr).toContain('must be no more than 52 characters');
  });

  it('batch - ControllerRevisions are served: revision required, data immutable, table columns', async () => {
    const revision = `apiVersion: apps/v1
kind: ControllerRevision
metadata: {name: web-abc}
data: {spec: {template: {metadata: {labels: {app: web}}}}}
revision: 1
`;
    await ok(['apply', '-f', '-'], revision);
    expect(await ok(['get', 'controllerrevisions'])).toMatch(/NAME\s+CONTROLLER\s+REVISION\s+AGE\nweb-abc\s+<none>\s+1/);
    const changed = await test.kubectl(['patch', 'controllerrevision', 'web-abc', '--type=merge', '-p', '{"data":{"spec":{"template":{"metadata":{"labels":{"app":"other"}}}}}}']);
    expect(changed.stderr).toContain('data: Forbidden: field is immutable');
    const missing = await test.kubectl(['apply', '-f', '-'], { input: revision.replace('web-abc', 'web-def').replace('revision: 1\n', '') });
    expect(missing.stderr).toContain('revision: Required value');
  });
});
