// The architecture rules are lint rules; this proves they fire, so a config edit cannot switch them off.
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('workspace - module boundaries', () => {
  it('edge code cannot import cloud code', async () => {
    const errors = await boundaryErrors('libs/edge/edgehub/src/probe.ts', "import { CloudHub } from '@kedge/cloudhub';\nexport const probe = CloudHub;\n");
    expect(errors.join('\n')).toMatch(/scope:edge/);
  });

  it('cloud code cannot import edge code', async () => {
    const errors = await boundaryErrors('libs/cloud/cloudhub/src/probe.ts', "import { EdgeHub } from '@kedge/edgehub';\nexport const probe = EdgeHub;\n");
    expect(errors.join('\n')).toMatch(/scope:cloud/);
  });

  it('libs/shared/protocol imports no other lib', async () => {
    const errors = await boundaryErrors('libs/shared/protocol/src/probe.ts', "import { LogThrottle } from '@kedge/telemetry';\nexport const probe = LogThrottle;\n");
    expect(errors.join('\n')).toMatch(/kind:protocol/);
  });

  it('a lib cannot import an app', async () => {
    const errors = await boundaryErrors('libs/shared/transport/src/probe.ts', "import '@kedge/cloudcore';\n");
    expect(errors.length).toBeGreaterThan(0);
  });

  it('production code cannot import a test-only library', async () => {
    const errors = await boundaryErrors('libs/edge/cri/src/probe.ts', "import { startPrivateContainerd } from '@kedge/containerd-fixture';\nexport const probe = startPrivateContainerd;\n");
    expect(errors.join('\n')).toMatch(/type:lib/);
  });

  it('an app cannot import a test-only library', async () => {
    const errors = await boundaryErrors('apps/edgecore/src/probe.ts', "import { waitFor } from '@kedge/testkit';\nexport const probe = waitFor;\n");
    expect(errors.length).toBeGreaterThan(0);
  });

  it('a test may import a test-only library', async () => {
    const errors = await boundaryErrors('libs/edge/cri/test/probe.test.ts', "import { startPrivateContainerd } from '@kedge/containerd-fixture';\nexport const probe = startPrivateContainerd;\n");
    expect(errors).toEqual([]);
  });

  it('a test still cannot cross from edge into cloud', async () => {
    const errors = await boundaryErrors('libs/edge/edgehub/test/probe.test.ts', "import { CloudHub } from '@kedge/cloudhub';\nexport const probe = CloudHub;\n");
    expect(errors.join('\n')).toMatch(/scope:edge/);
  });

  it('an allowed import passes', async () => {
    const errors = await boundaryErrors('libs/edge/edgehub/src/probe.ts', "import { newMessage } from '@kedge/protocol';\nexport const probe = newMessage;\n");
    expect(errors).toEqual([]);
  });
});
