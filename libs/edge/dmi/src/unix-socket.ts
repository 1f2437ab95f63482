// Where a DMI endpoint listens: a unix socket that only its owner may connect to. The socket is bound
// in a fresh 0700 folder, chmod-ed, then renamed into place, so it is never reachable with a wider mode;
// a stale socket left by a crash is removed only after nothing answered on it; a symlink, a file that
// is not a socket, or a folder anyone may write to that is not ours is refused (someone could swap it).
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, chmodSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { DmiError } from './errors';

/** sun_path holds 108 bytes with the terminating NUL */
const MAX_SOCKET_PATH = 107;

export interface UnixSocketOptions {
  /** 0o600 (default: this user only) or 0o660 (and the socket's group) */
  mode?: 0o600 | 0o660;
  /** the config field that named the path, for error messages */
  field?: string;
}

/** Whether something accepts connections on `path` (a live endpoint must not be removed). */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Checks the folder of a socket path. @throws DmiError FAILED_PRECONDITION */
function checkFolder(folder: string, field: string): void {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const info = statSync(folder);
  if (!info.isDirectory()) throw new DmiError('FAILED_PRECONDITION', `${folder} is not a directory`, field);
  const uid = process.getuid?.() ?? 0;
  if ((info.mode & 0o002) !== 0 && info.uid !== uid) {
    throw new DmiError('FAILED_PRECONDITION', `${folder} is writable by everyone and owned by uid ${info.uid}, not by this user (${uid}): another user could replace the socket; use a folder of this user`, field);
  }
}

/**
 * Binds `server` on the unix socket `path` (owner-only), after removing a stale socket there.
 * @returns a function that removes the socket file again if it is still the one bound here
 * @throws DmiError FAILED_PRECONDITION naming `field` when the path is unsafe or in use
 */
export async function bindUnixSocket(server: Server, path: string, options: UnixSocketOptions = {}): Promise<() => void> {
  const field = options.field ?? 'socket';
  const mode = options.mode ?? 0o600;
  if (!isAbsolute(path)) throw new DmiError('FAILED_PRECONDITION', `${path} is not an absolute path`, field);
  const folder = dirname(path);
  const prefix = `.${basename(path).slice(0, 8)}-`;
  // the socket is bound first at <folder>/<prefix>XXXXXX/s
  if (Buffer.byteLength(join(folder, `${prefix}XXXXXX`, 's')) > MAX_SOCKET_PATH || Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new DmiError('FAILED_PRECONDITION', `${path} is too long for a unix socket (at most ${MAX_SOCKET_PATH} bytes, and its folder at most ${MAX_SOCKET_PATH - prefix.length - 9})`, field);
  }
  checkFolder(folder, field);
  const existing = lstatOrUndefined(path);
  if (existing !== undefined) {
    if (existing.isSymbolicLink()) throw new DmiError('FAILED_PRECONDITION', `${path} is a symlink; refusing to listen through it`, field);
    if (!existing.isSocket()) throw new DmiError('FAILED_PRECONDITION', `${path} exists and is not a socket; refusing to replace it`, field);
    if (await socketAnswers(path)) throw new DmiError('FAILED_PRECONDITION', `${path} is in use by another process`, field);
    unlinkSync(path);
  }
  const temporary = mkdtempSync(join(folder, prefix));
  try {
    const bound = join(temporary, 's');
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${bound}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
    chmodSync(bound, mode);
    renameSync(bound, path);
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  const inode = lstatSync(path).ino;
  return () => {
    const now = lstatOrUndefined(path);
    if (now?.isSocket() && now.ino === inode) unlinkSync(path);
  };
}

function lstatOrUndefined(path: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
