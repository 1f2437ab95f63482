// Runs a task of edgecore-helper.ts in a short-lived child process (same node, same Node.js options) and returns
// its answer. The code a task needs is loaded there and is gone when the helper exits, instead of staying in the
// daemon's heap for the rest of its life (a Node.js process never unloads a module): zod, the config schema and
// the YAML parser to read edgecore.yaml; @peculiar/x509 with its ASN.1 schemas to make a CSR, pin the CA at a
// join and issue MetaServer's local certificates. docs/benchmarks.md (edgecore-memory) has what each costs.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import type { LocalCredential } from '@kedge/metamanager';
import { CaPinningError, PemFormatError, type CaPinningErrorCode, type NodeKeyAndCsr, type PinnedCaCertificate } from '@kedge/pki';

/** Each task's request and the value it answers with. */
export interface HelperRequests {
  'load-config': { request: { file: string; logLevel?: string }; value: EdgeCoreConfig };
  'default-config': { request: Record<string, never>; value: string };
  'node-key-and-csr': { request: { nodeName: string; keyPem?: string }; value: NodeKeyAndCsr };
  /** body is the served ca.crt, base64 */
  'pin-ca': { request: { body: string; pinnedHash: string; source: string }; value: PinnedCaCertificate };
  'metaserver-credential': { request: { dir: string; listenHost?: string; allowedHosts: string[] }; value: LocalCredential };
}

/**
 * What went wrong in the helper, for the caller to rethrow as the error the in-process code would have thrown:
 * `config` (EdgeCoreConfigError), `ca-pinning` (CaPinningError), `pem-format` (PemFormatError), else `failed`.
 */
export interface HelperFailure {
  kind: 'config' | 'ca-pinning' | 'pem-format' | 'usage' | 'failed';
  message: string;
  code?: string;
  expectedHash?: string;
  actualHash?: string;
}

/** One JSON line on the helper's stdout. */
export type HelperAnswer = { ok: true; value: unknown } | { ok: false; error: HelperFailure };

/** The config file cannot be read or is invalid; the message names the file and each field at fault. */
export class EdgeCoreConfigError extends Error {
  override readonly name = 'EdgeCoreConfigError';
}

/** The helper did not answer (crashed, killed, timed out) or failed for a reason of its own. */
export class StartupHelperError extends Error {
  override readonly name = 'StartupHelperError';
}

const HELPER_TIMEOUT_MS = 60_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * The node to run the helper on: the command the gateway launcher ran edgecore with (it exports it as
 * KEDGE_EDGECORE_NODE, tools/package/node-options.ts), which can be a wrapper (qemu-aarch64 in the arm64 bundle
 * test, where this process's own binary cannot be executed directly); else this process's own binary.
 */
const helperNode = (): string => process.env.KEDGE_EDGECORE_NODE || process.execPath;

/**
 * node's arguments that run edgecore-helper beside this module: lib/edgecore-helper.mjs in the bundle,
 * src/edgecore-helper.ts from source (under tsx, which the child is given when this process did not load it
 * through its command line, e.g. in a test runner).
 */
function helperArgs(task: string): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(fromSource ? './edgecore-helper.ts' : './edgecore-helper.mjs', import.meta.url));
  // an inspector port would clash with the parent's
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--inspect'));
  if (fromSource && !execArgv.some((arg) => arg.includes('tsx'))) execArgv.push('--import', import.meta.resolve('tsx'));
  return [...execArgv, entry, task];
}

function valueOf<T extends keyof HelperRequests>(task: T, stdout: string, stderr: string, how: string): HelperRequests[T]['value'] {
  let answer: HelperAnswer | undefined;
  try {
    answer = JSON.parse(stdout.trim().split('\n').pop() ?? '') as HelperAnswer;
  } catch {
    answer = undefined;
  }
  if (answer === undefined || answer === null || typeof answer !== 'object' || typeof answer.ok !== 'boolean') {
    throw new StartupHelperError(`edgecore's start-up helper (${task}) gave no answer (${how}): ${stderr.trim().slice(-2000)}`);
  }
  if (answer.ok) return answer.value as HelperRequests[T]['value'];
  const failure = answer.error;
  switch (failure.kind) {
    case 'config':
      throw new EdgeCoreConfigError(failure.message);
    case 'ca-pinning':
      throw new CaPinningError(failure.code as CaPinningErrorCode, failure.message, { expectedHash: failure.expectedHash ?? '', ...(failure.actualHash === undefined ? {} : { actualHash: failure.actualHash }) });
    case 'pem-format':
      throw new PemFormatError(failure.message);
    default:
      throw new StartupHelperError(`edgecore's start-up helper (${task}) failed: ${failure.message}`);
  }
}

/** Runs `task` in the helper and waits for it, blocking (for the config, before anything else runs). */
export function runStartupHelperSync<T extends keyof HelperRequests>(task: T, request: HelperRequests[T]['request']): HelperRequests[T]['value'] {
  const result = spawnSync(helperNode(), helperArgs(task), {
    input: JSON.stringify(request),
    encoding: 'utf8',
    timeout: HELPER_TIMEOUT_MS,
    maxBuffer: MAX_ANSWER_BYTES,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const how = result.error ? result.error.message : result.signal ? `killed by ${result.signal}` : `exit code ${result.status}`;
  return valueOf(task, result.stdout ?? '', result.stderr ?? '', how);
}

/** Runs `task` in the helper without blocking the event loop (the daemon's connections keep running). */
export function runStartupHelper<T extends keyof HelperRequests>(task: T, request: HelperRequests[T]['request']): Promise<HelperRequests[T]['value']> {
  return new Promise((resolve, reject) => {
    const child = spawn(helperNode(), helperArgs(task), { stdio: ['pipe', 'pipe', 'pipe'], timeout: HELPER_TIMEOUT_MS });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_ANSWER_BYTES) child.kill('SIGKILL');
      else stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (error) => reject(new StartupHelperError(`edgecore's start-up helper (${task}) could not run: ${error.message}`)));
    child.once('close', (code, signal) => {
      try {
        resolve(valueOf(task, Buffer.concat(stdout).toString('utf8'), Buffer.concat(stderr).toString('utf8'), signal ? `killed by ${signal}` : `exit code ${code}`));
      } catch (error) {
        reject(error as Error);
      }
    });
    child.stdin.on('error', () => undefined); // a helper that died early is reported by 'close'
    child.stdin.end(JSON.stringify(request));
  });
}

/** The x509 steps of joining and renewing, in the helper; the same signatures and errors as @kedge/pki's. */
export const x509InHelper = {
  createNodeKeyAndCsr: (nodeName: string, options: { keyPem?: string } = {}): Promise<NodeKeyAndCsr> =>
    runStartupHelper('node-key-and-csr', { nodeName, ...(options.keyPem === undefined ? {} : { keyPem: options.keyPem }) }),
  pinCaCertificate: (body: string | Buffer, pinnedHash: string, source: string): Promise<PinnedCaCertificate> =>
    runStartupHelper('pin-ca', { body: Buffer.from(body).toString('base64'), pinnedHash, source }),
};
