// securePrivatePaths on real directories and files: created private, narrowed when older versions left them open.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { formatMode, securePrivatePaths } from '../src/index';

const mode = (path: string): string => formatMode(statSync(path).mode);
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kedge-private-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('private files', () => {
  test('private files - missing directories are created 0700, parents included, and nothing is reported', () => {
    const pki = join(root, 'data', 'pki');
    expect(securePrivatePaths({ directories: [join(root, 'data'), pki], files: [join(pki, 'node.key')] })).toEqual([]);
    expect(mode(join(root, 'data'))).toBe('0700');
    expect(mode(pki)).toBe('0700');
  });

  test('private files - a 0755 directory and 0644 files from an older version are narrowed, and each change is reported', () => {
    const data = join(root, 'data');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    writeFileSync(join(data, 'edgecore.db'), 'x', { mode: 0o644 });
    writeFileSync(join(data, 'node.key'), 'x', { mode: 0o400 });
    chmodSync(join(data, 'edgecore.db'), 0o664);
    const logged: string[] = [];
    const narrowed = securePrivatePaths({ directories: [data], files: [join(data, 'edgecore.db'), join(data, 'node.key'), join(data, 'missing')] }, (fields, message) =>
      logged.push(`${fields.path} ${fields.from}->${fields.to}: ${message}`),
    );
    expect(logged).toEqual([
      `${data} 0755->0700: narrowed the mode of directory ${data} from 0755 to 0700: other users could read it (left so by an older version or a 022 umask)`,
      expect.stringContaining(`edgecore.db 0664->0600: narrowed the mode of file`),
    ]);
    expect(narrowed).toEqual([
      { path: data, kind: 'directory', from: 0o755, to: 0o700 },
      { path: join(data, 'edgecore.db'), kind: 'file', from: 0o664, to: 0o600 },
    ]);
    expect([mode(data), mode(join(data, 'edgecore.db')), mode(join(data, 'node.key'))]).toEqual(['0700', '0600', '0400']);
    expect(securePrivatePaths({ directories: [data], files: [join(data, 'edgecore.db')] })).toEqual([]);
  });

  test('private files - a data directory that is a symlink to a disk is narrowed at its target', () => {
    const disk = join(root, 'disk');
    mkdirSync(disk, { mode: 0o755 });
    chmodSync(disk, 0o755);
    symlinkSync(disk, join(root, 'data'));
    expect(securePrivatePaths({ directories: [join(root, 'data')] })).toHaveLength(1);
    expect(mode(disk)).toBe('0700');
  });

  test('private files - a file where a directory belongs (or the reverse) is refused naming the path', () => {
    writeFileSync(join(root, 'pki'), 'x');
    expect(() => securePrivatePaths({ directories: [join(root, 'pki')] })).toThrow(/pki/);
    mkdirSync(join(root, 'node.key'));
    expect(() => securePrivatePaths({ files: [join(root, 'node.key')] })).toThrow(/node\.key should be a file private to this daemon/);
  });
});
