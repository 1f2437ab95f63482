#!/usr/bin/env node
// edgecore's start-up helper: a short-lived process for one-shot work whose code the daemon should not hold for
// the rest of its life. A Node.js process never unloads a module, so validating edgecore.yaml in the daemon
// itself kept zod, the config schema and the YAML parser in its heap (about 4 MB of RSS on a gateway; measured
// in docs/benchmarks.md, edgecore-memory). Protocol: the task is argv[2], the request is JSON on stdin, the
// answer is one JSON line on stdout ({ok: true, value} or {ok: false, error}); startup-helper.ts is the caller.
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ConfigError, loadConfigFile, parseConfigText } from '@kedge/config';
import { edgeCoreConfigSchema } from '@kedge/edgecore-config';
import type { HelperAnswer, HelperRequests } from './startup-helper';

const tasks: { [T in keyof HelperRequests]: (request: HelperRequests[T]['request']) => HelperRequests[T]['value'] } = {
  'load-config': ({ file, logLevel }) => {
    const fromFile = loadConfigFile(file, edgeCoreConfigSchema);
    return logLevel === undefined ? fromFile : parseConfigText(JSON.stringify({ ...fromFile, log: { level: logLevel } }), edgeCoreConfigSchema, `${file} + flags`);
  },
  'default-config': () => stringify(parseConfigText('nodeName: gateway-01', edgeCoreConfigSchema, 'defaults')),
};

function answer(value: HelperAnswer): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const task = process.argv[2] as keyof HelperRequests;
if (!Object.hasOwn(tasks, task)) {
  answer({ ok: false, error: { kind: 'usage', message: `unknown task ${JSON.stringify(task)}; expected one of ${Object.keys(tasks).join(', ')}` } });
  process.exitCode = 2;
} else {
  try {
    const request = JSON.parse(readFileSync(0, 'utf8') || '{}') as never;
    answer({ ok: true, value: tasks[task](request) });
  } catch (error) {
    answer({ ok: false, error: { kind: error instanceof ConfigError ? 'config' : 'failed', message: (error as Error).message } });
  }
}
