#!/usr/bin/env node
// edgecore's start-up helper: a short-lived process for one-shot work whose code the daemon should not hold for
// the rest of its life (startup-helper.ts runs it and says why). Each task imports what it needs when it runs.
// Protocol: the task is argv[2], the request is JSON on stdin, the answer is one JSON line on stdout
// ({ok: true, value} or {ok: false, error}).
import { readFileSync } from 'node:fs';
import type { HelperAnswer, HelperFailure, HelperRequests } from './startup-helper';
import { tasks } from './startup-tasks';

/** The error as the caller rethrows it (startup-helper.ts). */
function failureOf(error: unknown): HelperFailure {
  const { name, message, code, expectedHash, actualHash } = error as Error & { code?: string; expectedHash?: string; actualHash?: string };
  if (name === 'ConfigError') return { kind: 'config', message };
  if (name === 'CaPinningError') return { kind: 'ca-pinning', message, ...(code === undefined ? {} : { code }), ...(expectedHash === undefined ? {} : { expectedHash }), ...(actualHash === undefined ? {} : { actualHash }) };
  if (name === 'PemFormatError') return { kind: 'pem-format', message };
  return { kind: 'failed', message: String(message ?? error) };
}

function answer(value: HelperAnswer): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

async function main(): Promise<void> {
  const task = process.argv[2] as keyof HelperRequests;
  if (!Object.hasOwn(tasks, task)) {
    answer({ ok: false, error: { kind: 'usage', message: `unknown task ${JSON.stringify(task)}; expected one of ${Object.keys(tasks).join(', ')}` } });
    process.exitCode = 2;
    return;
  }
  try {
    const request = JSON.parse(readFileSync(0, 'utf8') || '{}') as never;
    answer({ ok: true, value: await tasks[task](request) });
  } catch (error) {
    answer({ ok: false, error: failureOf(error) });
  }
}

void main();
