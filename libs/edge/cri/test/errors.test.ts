// Failures come back as CriError with the gRPC code name, the method and the object, and say what to do.
import { connectCri, CriError } from '../src/index';
import type { PodSandboxConfig } from '../src/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestContainerd } from './containerd-fixture';
import { podConfig, privateContainerd, startTestContainerd } from './containerd-fixture';

async function criErrorOf(call: Promise<unknown>): Promise<CriError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CriError);
  return error as CriError;
}

describe('cri - errors without a runtime', () => {
  it('a socket that does not exist gives UNAVAILABLE naming the socket, within the deadline', async () => {
    const socketPath = '/tmp/kedge-cri-no-such-dir/containerd.sock';
    const cri = connectCri(socketPath, { timeoutMs: 3_000 });
    const started = Date.now();
    const error = await criErrorOf(cri.version());
    cri.close();
    expect(Date.now() - started).toBeLessThan(3_500);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', method: 'Version', socketPath });
    expect(error.message).toContain(socketPath);
    expect(error.message).toMatch(/^Version for runtime at \/tmp\/kedge-cri-no-such-dir\/containerd.sock: UNAVAILABLE: /);
  });
});

privateContainerd.describe('cri - errors from containerd', () => {
  let env: TestContainerd;
  let sandboxConfig: PodSandboxConfig;
  let sandboxId: string;

  beforeAll(async () => {
    env = await startTestContainerd('errors');
    sandboxConfig = podConfig(env.dir, 'broken', { linux: { securityContext: { namespaceOptions: { network: 'NODE' } } } });
    sandboxId = await env.cri.runPodSandbox(sandboxConfig);
  });
  afterAll(async () => {
    if (sandboxId) {
      await env.cri.stopPodSandbox(sandboxId);
      await env.cri.removePodSandbox(sandboxId);
    }
    await env?.stop();
  });

  it('CreateContainer with a missing image is NOT_FOUND and says how to import it', async () => {
    const config = { metadata: { name: 'app' }, image: 'localhost/kedge/missing:1', command: ['true'] };
    const error = await criErrorOf(env.cri.createContainer(sandboxId, config, sandboxConfig));
    expect(error).toMatchObject({ code: 'NOT_FOUND', method: 'CreateContainer', target: 'pod default/broken container app' });
    expect(error.message).toMatch(
      /^CreateContainer for pod default\/broken container app: NOT_FOUND: image "localhost\/kedge\/missing:1" not present; import it with ctr -n k8s.io images import/,
    );
  });

  it('calls on an unknown container or sandbox are NOT_FOUND naming the id', async () => {
    const container = await criErrorOf(env.cri.startContainer('no-such-container'));
    expect(container).toMatchObject({ code: 'NOT_FOUND', target: 'container no-such-container' });
    expect(container.message).toMatch(/^StartContainer for container no-such-container: NOT_FOUND: /);
    const sandbox = await criErrorOf(env.cri.podSandboxStatus('no-such-sandbox'));
    expect(sandbox).toMatchObject({ code: 'NOT_FOUND', method: 'PodSandboxStatus', target: 'sandbox no-such-sandbox' });
  });
});
