// Durability of report(): a child edgecore reports in a loop and is killed with SIGKILL; every report
// whose report() had returned must be in the outbox when the database is opened again.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, openStore, tempDir, waitFor } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

describe('outbox durability', () => {
  it('outbox - after kill -9 of an edgecore whose report() returned, the report is in the outbox', async () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/report-forever.ts', file], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let exited = false;
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => {
        exited = true;
        resolve(signal);
      }),
    );
    cleanup.add(async () => {
      if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exit;
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const confirmed = (): number => Math.max(0, ...[...stdout.matchAll(/reported (\d+)\n/g)].map((match) => Number(match[1])));
    await waitFor(() => confirmed() >= 50 || exited, 'the child to confirm 50 reports', { timeoutMs: 30_000, onTimeout: () => stderr });
    expect(exited, stderr).toBe(false);
    if (child.pid === undefined) throw new Error('the child has no pid');
    process.kill(child.pid, 'SIGKILL');
    expect(await exit).toBe('SIGKILL');
    const lastConfirmed = confirmed();

    const store = openStore(cleanup, file);
    const entries = store.outbox.entries();
    expect(entries.map((entry) => entry.resource).sort()).toEqual(['default/podstatus/web', 'null/nodestatus/gw-1']);
    const web = entries.find((entry) => entry.resource === 'default/podstatus/web');
    // the latest report wins; it may be one the child made after its last line reached us
    expect((web?.message.content as { counter: number }).counter).toBeGreaterThanOrEqual(lastConfirmed);
  });
});
