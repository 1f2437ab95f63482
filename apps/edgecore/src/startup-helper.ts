// Runs a task of edgecore-helper.ts in a short-lived child process (same node, same Node.js options) and returns
// its answer: the code the task needs (zod, the config schema, the YAML parser) is loaded there and is gone when
// it exits, instead of staying in the daemon's heap. Synchronous: it runs before anything else has started.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';

/** Each task's request and the value it answers with. */
export interface HelperRequests {
  'load-config': { request: { file: string; logLevel?: string }; value: EdgeCoreConfig };
  'default-config': { request: Record<string, never>; value: string };
}

/** One JSON line on the helper's stdout. `kind` config: the config is invalid (the message names file and field). */
export type HelperAnswer = { ok: true; value: unknown } | { ok: false; error: { kind: 'config' | 'usage' | 'failed'; message: string } };

/** The config file cannot be read or is invalid; the message names the file and each field at fault. */
export class EdgeCoreConfigError extends Error {
  override readonly name = 'EdgeCoreConfigError';
}

/** The helper did not answer (crashed, killed, timed out) or failed for another reason than the config. */
export class StartupHelperError extends Error {
  override readonly name = 'StartupHelperError';
}

const HELPER_TIMEOUT_MS = 60_000;

/**
 * node and arguments that run edgecore-helper beside this module: lib/edgecore-helper.mjs in the bundle,
 * src/edgecore-helper.ts from source (under tsx, which the child is given when this process did not load it
 * through its command line, e.g. in a test runner).
 */
function helperCommand(task: string): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './edgecore-helper.ts' : './edgecore-helper.mjs', import.meta.url));
  // an inspector port would clash with the parent's
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--inspect'));
  if (fromSource && !execArgv.some((arg) => arg.includes('tsx'))) execArgv.push('--import', import.meta.resolve('tsx'));
  return [...execArgv, entry, task];
}

/** Runs `task` in the helper process and returns its value; throws EdgeCoreConfigError or StartupHelperError. */
export function runStartupHelper<T extends keyof HelperRequests>(task: T, request: HelperRequests[T]['request']): HelperRequests[T]['value'] {
  const result = spawnSync(process.execPath, helperCommand(task), {
    input: JSON.stringify(request),
    encoding: 'utf8',
    timeout: HELPER_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lastLine = result.stdout?.trim().split('\n').pop() ?? '';
  let answer: HelperAnswer | undefined;
  try {
    answer = JSON.parse(lastLine) as HelperAnswer;
  } catch {
    answer = undefined;
  }
  if (answer === undefined || typeof answer !== 'object' || typeof answer.ok !== 'boolean') {
    const how = result.error ? result.error.message : result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`;
    throw new StartupHelperError(`edgecore's start-up helper (${task}) gave no answer (${how}): ${(result.stderr ?? '').trim().slice(-2000)}`);
  }
  if (!answer.ok) {
    if (answer.error.kind === 'config') throw new EdgeCoreConfigError(answer.error.message);
    throw new StartupHelperError(`edgecore's start-up helper (${task}) failed: ${answer.error.message}`);
  }
  return answer.value as HelperRequests[T]['value'];
}
