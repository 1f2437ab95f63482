// The record of what `kedgeadm join` / `kedgeadm init` wrote, so `kedgeadm reset` removes exactly that.
import { existsSync, readFileSync, rmSync, rmdirSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { securePrivatePaths } from '@kedge/sqlite';
import type { ObjectRef } from './cluster-manifests';

export const WRITTEN_FILES_RECORD = '.kedgeadm-written.json';

export interface WrittenFilesRecord {
  command: 'join' | 'init';
  writtenAt: string;
  /** absolute paths of files, in the order they were written */
  files: string[];
  /** directories kedgeadm created (removed by reset when empty) */
  directories: string[];
  /** `init --kubeconfig`: the cluster objects init created (reset deletes these, last first) */
  cluster?: { kubeconfig: string; objects: ObjectRef[] };
}

export class WrittenFiles {
  readonly files: string[] = [];
  readonly directories: string[] = [];
  cluster: WrittenFilesRecord['cluster'];

  constructor(readonly prefix: string, readonly command: WrittenFilesRecord['command']) {}

  ensureDir(dir: string): void {
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
    mkdirSync(dir, { recursive: true });
    for (const d of missing) if (!this.directories.includes(d)) this.directories.push(d);
  }

  /**
   * A data or PKI directory: created 0700 (missing parents too), or narrowed to owner-only when it
   * exists, as the daemon would at its start. Returns what was narrowed, for the command's output.
   */
  ensurePrivateDir(dir: string): string[] {
    const missing: string[] = [];
    for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
    const narrowed = securePrivatePaths({ directories: [dir] }, () => undefined).map((n) => n.path);
    for (const d of missing) if (!this.directories.includes(d)) this.directories.push(d);
    return narrowed;
  }

  write(file: string, content: string, mode = 0o644): void {
    this.ensureDir(dirname(file));
    writeFileSync(file, content, { mode });
    if (!this.files.includes(file)) this.files.push(file);
    this.save();
  }

  /** Record a cluster object init created; saved at once, so a failed init can still be reset. */
  addClusterObject(kubeconfig: string, ref: ObjectRef): void {
    this.cluster ??= { kubeconfig, objects: [] };
    this.cluster.objects.push(ref);
    this.save();
  }

  /** Record a file somebody else (e.g. @kedge/pki) wrote on our behalf. */
  add(file: string): void {
    if (!this.files.includes(file)) this.files.push(file);
    this.save();
  }

  save(): void {
    mkdirSync(this.prefix, { recursive: true });
    const record: WrittenFilesRecord = {
      command: this.command,
      writtenAt: new Date().toISOString(),
      files: this.files,
      directories: this.directories,
      ...(this.cluster ? { cluster: this.cluster } : {}),
    };
    writeFileSync(join(this.prefix, WRITTEN_FILES_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  }
}

export function readWrittenFiles(prefix: string): WrittenFilesRecord | undefined {
  const file = join(prefix, WRITTEN_FILES_RECORD);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as WrittenFilesRecord;
}

export interface ResetResult {
  removed: string[];
  alreadyGone: string[];
}

/** Remove every recorded file, then the recorded directories that are now empty, then the record. */
export function removeWrittenFiles(prefix: string, record: WrittenFilesRecord): ResetResult {
  const removed: string[] = [];
  const alreadyGone: string[] = [];
  for (const file of record.files) {
    if (existsSync(file)) {
      rmSync(file, { force: true });
      removed.push(file);
    } else {
      alreadyGone.push(file);
    }
  }
  const recordFile = join(prefix, WRITTEN_FILES_RECORD);
  rmSync(recordFile, { force: true });
  removed.push(recordFile);
  // deepest first, and only when empty: never remove what someone else put there
  for (const dir of [...record.directories].sort((a, b) => b.length - a.length)) {
    if (existsSync(dir) && readdirSync(dir).length === 0) {
      rmdirSync(dir);
      removed.push(`${dir}/`);
    }
  }
  return { removed, alreadyGone };
}
