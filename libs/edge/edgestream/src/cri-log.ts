// Container logs from the CRI log file: `<RFC3339Nano> <stdout|stderr> <P|F> <message>` per line,
// with kubectl's sinceSeconds/sinceTime, tailLines, timestamps, limitBytes, previous and follow.
import { open } from 'node:fs/promises';
import type { ContainerSummary, CriClient } from '@kedge/cri';
import { StreamFailure } from './errors';
import type { LogOptions } from '@kedge/protocol';

export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

export interface CriLogLine {
  timestamp: string;
  stream: 'stdout' | 'stderr';
  /** false for a partial line (P): the message continues in the next line */
  complete: boolean;
  message: string;
}

/** Parses one CRI log line; undefined for a malformed one. */
export function parseCriLogLine(line: string): CriLogLine | undefined {
  const match = /^(\S+) (stdout|stderr) ([PF]) ?(.*)$/.exec(line);
  if (!match) return undefined;
  return { timestamp: match[1] ?? '', stream: match[2] as 'stdout' | 'stderr', complete: match[3] === 'F', message: match[4] ?? '' };
}

export function formatLogLine(line: CriLogLine, timestamps: boolean): string {
  return `${timestamps ? `${line.timestamp} ` : ''}${line.message}${line.complete ? '\n' : ''}`;
}

/**
 * The earliest time (ms) a line must carry to be shown, or undefined for all: `sinceTime`, or
 * `sinceSeconds` before `now` on this node's clock, as the kubelet (the clock that stamped the lines).
 */
export function logSinceMs(options: Pick<LogOptions, 'sinceSeconds' | 'sinceTime'>, now: number): number | undefined {
  if (options.sinceTime !== undefined) return Date.parse(options.sinceTime);
  if (options.sinceSeconds !== undefined) return now - options.sinceSeconds * 1000;
  return undefined;
}

/**
 * The raw lines logged at or after `sinceMs` (a line is dropped only when its time is before it, as the
 * kubelet's). Time is compared to the millisecond: the sub-millisecond digits of RFC3339Nano are cut,
 * which keeps a line of the same millisecond. A line whose time cannot be read is dropped.
 */
export function linesSince(lines: string[], sinceMs: number | undefined): string[] {
  if (sinceMs === undefined) return lines;
  return lines.filter((raw) => {
    const parsed = parseCriLogLine(raw);
    if (parsed === undefined) return false;
    const at = Date.parse(parsed.timestamp);
    return !Number.isNaN(at) && at >= sinceMs;
  });
}

/** The pod's containers named `container`, newest attempt first. */
export async function containersOf(cri: Pick<CriClient, 'listContainers'>, namespace: string, pod: string, container: string): Promise<ContainerSummary[]> {
  const found = await cri.listContainers({
    labelSelector: { [POD_NAMESPACE_LABEL]: namespace, [POD_NAME_LABEL]: pod, [CONTAINER_NAME_LABEL]: container },
  });
  return found.sort((a, b) => (b.metadata.attempt - a.metadata.attempt) || (b.createdAt > a.createdAt ? 1 : b.createdAt < a.createdAt ? -1 : 0));
}

/** The container to read or exec in. @throws StreamFailure 404/400 */
export async function findContainer(cri: Pick<CriClient, 'listContainers'>, namespace: string, pod: string, container: string, previous = false): Promise<ContainerSummary> {
  const found = await containersOf(cri, namespace, pod, container);
  const chosen = previous ? found[1] : found[0];
  if (chosen) return chosen;
  if (previous && found.length > 0) throw new StreamFailure(400, `previous terminated container "${container}" in pod "${pod}" not found`);
  throw new StreamFailure(404, `container "${container}" of pod ${namespace}/${pod} is not running on this node`);
}

export interface LogReaderHooks {
  write(text: string): Promise<void>;
  cancelled(): boolean;
}

const FOLLOW_POLL_MS = 200;
const READ_CHUNK = 64 * 1024;

/** Writes the log through hooks.write; with follow, until the container stops or the stream is cancelled. */
export async function streamCriLog(
  cri: Pick<CriClient, 'containerStatus'>,
  containerId: string,
  logPath: string,
  options: LogOptions,
  hooks: LogReaderHooks,
): Promise<void> {
  const file = await open(logPath, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new StreamFailure(error.code === 'ENOENT' ? 404 : 500, `cannot read the log of container ${containerId}: ${error.message}`);
  });
  const sinceMs = logSinceMs(options, Date.now());
  let budget = options.limitBytes ?? Number.POSITIVE_INFINITY;
  let position = 0;
  let pending = '';
  const readNew = async (): Promise<string[]> => {
    const buffer = Buffer.alloc(READ_CHUNK);
    let text = '';
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      text += buffer.subarray(0, bytesRead).toString('utf8');
    }
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    return lines;
  };
  const emit = async (lines: string[]): Promise<boolean> => {
    let out = '';
    for (const raw of lines) {
      const parsed = parseCriLogLine(raw);
      if (parsed) out += formatLogLine(parsed, options.timestamps);
    }
    if (out.length > budget) out = Buffer.from(out).subarray(0, budget).toString('utf8');
    budget -= Buffer.byteLength(out);
    if (out) await hooks.write(out);
    return budget > 0;
  };
  try {
    // since first, then tail: the last N of the lines that are recent enough
    let lines = linesSince(await readNew(), sinceMs);
    if (options.tailLines !== undefined) lines = options.tailLines === 0 ? [] : lines.slice(-options.tailLines);
    if (!(await emit(lines)) || !options.follow) return;
    while (!hooks.cancelled()) {
      const more = linesSince(await readNew(), sinceMs);
      if (more.length > 0) {
        if (!(await emit(more))) return;
        continue;
      }
      const status = await cri.containerStatus(containerId).catch(() => undefined);
      if (!status || status.state !== 'CONTAINER_RUNNING') {
        await emit(linesSince(await readNew(), sinceMs));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
    }
  } finally {
    await file.close();
  }
}
