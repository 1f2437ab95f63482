// The query of a kubelet request, checked and turned into the names CloudStream reads: booleans as Go's
// strconv.ParseBool reads them, integers that must be non-negative, exec's `input`/`output`/`error`
// (kube-apiserver's spelling) or `stdin`/`stdout`/`stderr`.
import { isRfc3339Time } from '@kedge/protocol';
import { KubeletRequestError } from './kubelet-errors';

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function bool(query: URLSearchParams, ...names: string[]): boolean {
  for (const name of names) {
    const value = query.get(name);
    if (value === null) continue;
    // a bare `?follow` means true, as kube-apiserver's query decoding has it
    if (value === '' || TRUE.has(value)) return true;
    if (FALSE.has(value)) return false;
    throw new KubeletRequestError(400, 'bad-request', `query parameter ${name}: "${value}" is not a boolean (1, t, true, 0, f, false)`);
  }
  return false;
}

function count(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new KubeletRequestError(400, 'bad-request', `query parameter ${name}: "${value}" is not a non-negative integer`);
  return value;
}

/**
 * containerLogs: follow, previous, timestamps, tailLines, limitBytes, and sinceSeconds or sinceTime (as
 * kube-apiserver sends them: seconds, or RFC 3339) for the container in the path. The edge filters by
 * time on its own clock.
 */
export function logQuery(query: URLSearchParams, container: string): URLSearchParams {
  const result = new URLSearchParams({ container });
  for (const name of ['follow', 'previous', 'timestamps']) result.set(name, String(bool(query, name)));
  for (const name of ['tailLines', 'limitBytes', 'sinceSeconds']) {
    const value = count(query, name);
    if (value !== undefined) result.set(name, value);
  }
  const sinceTime = query.get('sinceTime');
  if (sinceTime !== null && sinceTime !== '') {
    if (!isRfc3339Time(sinceTime)) throw new KubeletRequestError(400, 'bad-request', `query parameter sinceTime: "${sinceTime.slice(0, 60)}" is not an RFC 3339 time (2006-01-02T15:04:05Z)`);
    result.set('sinceTime', sinceTime);
  }
  // the kubelet's ValidatePodLogOptions: a 422
  if (result.get('sinceSeconds') === '0') throw new KubeletRequestError(422, 'bad-request', 'PodLogOptions is invalid: sinceSeconds: Invalid value: 0: must be greater than 0');
  if (result.has('sinceSeconds') && result.has('sinceTime')) {
    throw new KubeletRequestError(422, 'bad-request', 'PodLogOptions is invalid: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified');
  }
  return result;
}

/** exec and attach: the streams wanted, the terminal, and (exec) the command. */
export function processQuery(query: URLSearchParams, container: string, kind: 'exec' | 'attach'): URLSearchParams {
  const result = new URLSearchParams({
    container,
    stdin: String(bool(query, 'input', 'stdin')),
    stdout: String(bool(query, 'output', 'stdout')),
    stderr: String(bool(query, 'error', 'stderr')),
    tty: String(bool(query, 'tty')),
  });
  if (kind === 'exec') for (const command of query.getAll('command')) result.append('command', command);
  return result;
}
