// Where edgecore finds its join token. Never on the command line: a long-running process's argv is
// readable by every user of the machine (`ps`, /proc/<pid>/cmdline) for as long as it runs, so
// `--token <token>` is refused; the token comes from a file (`--token-file`, or the config's
// `edgeHub.tokenFile`) or from stdin (`--token -`). It is needed on the first start only, so a file
// is read only when the node has no certificate yet (the file may be deleted after the join).
import { readFileSync, statSync } from 'node:fs';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import type { Logger } from '@kedge/telemetry';

/** a token is a few hundred characters; anything much larger is the wrong file */
const MAX_TOKEN_FILE_BYTES = 4096;

export class JoinTokenSourceError extends Error {
  override readonly name = 'JoinTokenSourceError';
  readonly code = 'JOIN_TOKEN_SOURCE';
}

export interface JoinTokenFlags {
  /** only "-" (read stdin) is accepted */
  token?: string;
  tokenFile?: string;
}

/** Refuses a token given as a command-line value before anything else runs. */
export function assertNoTokenInArgv(flags: JoinTokenFlags): void {
  if (flags.token !== undefined && flags.token !== '-') {
    throw new JoinTokenSourceError(
      '--token with the token itself is refused: a command line is visible to every user of this machine (ps, ' +
        '/proc/<pid>/cmdline) for as long as edgecore runs. Put the token in a file readable by root only and pass ' +
        '--token-file <file> (or set edgeHub.tokenFile in the config), or pipe it on stdin with --token -',
    );
  }
  if (flags.token === '-' && flags.tokenFile !== undefined) {
    throw new JoinTokenSourceError('give the join token one way: --token - (stdin) or --token-file <file>, not both');
  }
}

/** Reads stdin to its end (for `--token -`). */
export async function readTokenFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_TOKEN_FILE_BYTES) throw new JoinTokenSourceError(`--token -: more than ${MAX_TOKEN_FILE_BYTES} bytes on stdin; pipe only the token`);
    chunks.push(buffer);
  }
  const token = Buffer.concat(chunks).toString('utf8').trim();
  if (token === '') throw new JoinTokenSourceError('--token -: stdin was empty; pipe the token printed by `kedgeadm token create`');
  return token;
}

/**
 * The token for the first start, looked up only when it is needed: stdin (already read), then
 * --token-file, KEDGE_JOIN_TOKEN, edgeHub.tokenFile and, deprecated, edgeHub.token.
 */
export function joinTokenSource(
  config: EdgeCoreConfig,
  sources: { stdinToken?: string; tokenFile?: string; env?: NodeJS.ProcessEnv },
  logger: Logger,
): () => string | undefined {
  return () => {
    if (sources.stdinToken !== undefined) return sources.stdinToken;
    if (sources.tokenFile !== undefined) return readTokenFile(sources.tokenFile, '--token-file', logger);
    const fromEnv = (sources.env ?? process.env).KEDGE_JOIN_TOKEN;
    if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
    if (config.edgeHub.tokenFile !== undefined) return readTokenFile(config.edgeHub.tokenFile, 'edgeHub.tokenFile', logger);
    if (config.edgeHub.token !== undefined) {
      logger.warn('the join token is inline in the config (edgeHub.token), which is often readable by every user; use edgeHub.tokenFile');
      return config.edgeHub.token;
    }
    return undefined;
  };
}

function readTokenFile(file: string, field: string, logger: Logger): string {
  let size: number;
  let mode: number;
  try {
    ({ size, mode } = statSync(file));
  } catch (cause) {
    throw new JoinTokenSourceError(`${field} ${file}: cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)}); write the token printed by \`kedgeadm token create\` there`, { cause });
  }
  if (size > MAX_TOKEN_FILE_BYTES) throw new JoinTokenSourceError(`${field} ${file}: ${size} bytes is not a join token; the file must hold only the token`);
  if ((mode & 0o077) !== 0) {
    logger.warn({ file, mode: `0${(mode & 0o777).toString(8)}` }, 'the join token file is readable by other users; chmod 600 it (and delete it after the join)');
  }
  const token = readFileSync(file, 'utf8').trim();
  if (token === '') throw new JoinTokenSourceError(`${field} ${file}: the file is empty; write the token printed by \`kedgeadm token create\` there`);
  return token;
}
