// Builds kedge's two test images OFFLINE (this machine reaches no registry) from Debian's statically linked
// /bin/busybox (package busybox-static), as one OCI image-layout tar, and imports it into containerd's k8s.io
// namespace, where the CRI plugin looks for images:
//   localhost/kedge/busybox:1  Cmd ["sh"], a shell and every busybox applet under /bin
//   localhost/kedge/pause:1    Entrypoint ["/bin/sleep","2147483647"], the pod sandbox ("pause") image
// Both images share one layer. Output is deterministic (mtime 0, fixed created date), so digests are stable.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { BUSYBOX_PATH } from '@kedge/testkit';
import type { TarEntry } from './tar-writer';
import { createTar } from './tar-writer';

const execFileAsync = promisify(execFile);

export const BUSYBOX_IMAGE = 'localhost/kedge/busybox:1';
export const PAUSE_IMAGE = 'localhost/kedge/pause:1';
export const KEDGE_IMAGES = [BUSYBOX_IMAGE, PAUSE_IMAGE] as const;
const IMAGES_TAR_NAME = 'kedge-images.oci.tar';
const IMAGE_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

interface Blob {
  digest: string;
  data: Buffer;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blobOf = (data: Buffer): Blob => ({ digest: sha256(data), data });
const jsonBlob = (value: unknown): Blob => blobOf(Buffer.from(JSON.stringify(value)));
const describe = (mediaType: string, blob: Blob): Descriptor => ({ mediaType, digest: blob.digest, size: blob.data.length });

function ociArchitecture(): string {
  const byNodeArch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return byNodeArch[process.arch] ?? process.arch;
}

// A dynamically linked busybox would build an image whose every command fails with "no such file", far from
// the cause; refuse early instead. An ELF with a PT_INTERP program header needs a dynamic loader.
function assertStaticElf(binary: Buffer, path: string): void {
  if (binary.readUInt32BE(0) !== 0x7f454c46 || binary[4] !== 2) throw new Error(`${path} is not a 64-bit ELF binary`);
  const phoff = Number(binary.readBigUInt64LE(0x20));
  const phentsize = binary.readUInt16LE(0x36);
  const phnum = binary.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (binary.readUInt32LE(phoff + i * phentsize) === 3) {
      throw new Error(`${path} is dynamically linked; install busybox-static (tools/install-system-deps.sh)`);
    }
  }
}

async function rootfsTar(busyboxPath: string): Promise<Buffer> {
  const busybox = await readFile(busyboxPath);
  assertStaticElf(busybox, busyboxPath);
  const { stdout } = await execFileAsync(busyboxPath, ['--list']);
  const applets = stdout.split('\n').filter((name) => name && name !== 'busybox' && !name.includes('/'));
  const entries: TarEntry[] = [
    ...['bin', 'dev', 'etc', 'home', 'proc', 'run', 'sys', 'usr', 'var'].map((path): TarEntry => ({ type: 'dir', path })),
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'var/tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    ...applets.map((applet): TarEntry => ({ type: 'symlink', path: `bin/${applet}`, target: 'busybox' })),
    { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
    { type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nnobody:x:65534:\n') },
  ];
  return createTar(entries);
}

export interface LayoutImage {
  /** e.g. localhost/kedge/busybox:1; the tag becomes the ref name */
  name: string;
  /** the image config's `config` (Entrypoint, Cmd, Env, WorkingDir, ExposedPorts …) */
  process: Record<string, unknown>;
  /** for the config's history, so `ctr images inspect` says where the image came from */
  createdBy: string;
}

/**
 * An OCI image layout, serialised as one tar (what `ctr images import` reads), of images that share
 * one layer. Deterministic: the same layer and images give the same bytes.
 */
export function ociLayoutTar(layerTar: Buffer, images: readonly LayoutImage[]): Buffer {
  const layer = blobOf(gzipSync(layerTar));
  const diffId = sha256(layerTar);
  const platform = { architecture: ociArchitecture(), os: 'linux' };
  const blobs = new Map<string, Buffer>([[layer.digest, layer.data]]);
  const manifests = images.map(({ name, process, createdBy }) => {
    const config = jsonBlob({
      ...platform,
      created: '1970-01-01T00:00:00Z',
      config: process,
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: createdBy }],
    });
    const manifest = jsonBlob({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config: describe(MEDIA_TYPE.config, config), layers: [describe(MEDIA_TYPE.layer, layer)] });
    for (const blob of [config, manifest]) blobs.set(blob.digest, blob.data);
    return {
      ...describe(MEDIA_TYPE.manifest, manifest),
      // ctr names the imported image after io.containerd.image.name; ref.name alone would give just "1".
      annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name.slice(name.lastIndexOf(':') + 1) },
      platform,
    };
  });
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests };
  return createTar([
    { type: 'file', path: 'oci-layout', data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { type: 'file', path: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    { type: 'dir', path: 'blobs' },
    { type: 'dir', path: 'blobs/sha256' },
    ...[...blobs].map(([digest, data]): TarEntry => ({ type: 'file', path: `blobs/sha256/${digest.slice('sha256:'.length)}`, data })),
  ]);
}

/** The OCI image layout for both kedge images, serialised as one tar (what `ctr images import` reads). */
export async function buildKedgeImagesLayoutTar(busyboxPath = BUSYBOX_PATH): Promise<Buffer> {
  const rootfs = await rootfsTar(busyboxPath);
  const createdBy = 'kedge libs/testing/containerd-fixture/src/oci-image.ts from /bin/busybox';
  const base = { Env: [IMAGE_PATH_ENV], WorkingDir: '/' };
  return ociLayoutTar(rootfs, [
    { name: BUSYBOX_IMAGE, process: { ...base, Cmd: ['sh'] }, createdBy },
    { name: PAUSE_IMAGE, process: { ...base, Entrypoint: ['/bin/sleep', '2147483647'] }, createdBy },
  ]);
}

/** Builds the image tar into cacheDir once and returns its path; later calls reuse the cached file. */
export async function ensureKedgeImagesTar(cacheDir: string, busyboxPath = BUSYBOX_PATH): Promise<string> {
  const tarPath = join(cacheDir, IMAGES_TAR_NAME);
  if (existsSync(tarPath)) return tarPath;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${tarPath}.${process.pid}.partial`;
  await writeFile(partial, await buildKedgeImagesLayoutTar(busyboxPath));
  await rename(partial, tarPath); // atomic, so a concurrent reader never sees half a tar
  return tarPath;
}

/** Imports an OCI layout tar into containerd's k8s.io namespace (the one the CRI plugin uses). */
export async function importImageTar(socketPath: string, tarPath: string): Promise<void> {
  try {
    await execFileAsync('ctr', ['-a', socketPath, '-n', 'k8s.io', 'images', 'import', tarPath], { timeout: 60_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`ctr images import ${tarPath} into ${socketPath} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

/** Builds (or reuses) the kedge images in cacheDir and imports them; resolves to the image names. */
export async function importKedgeImages(socketPath: string, cacheDir: string): Promise<string[]> {
  await importImageTar(socketPath, await ensureKedgeImagesTar(cacheDir));
  return [...KEDGE_IMAGES];
}
