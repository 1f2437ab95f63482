// The offline image builder, checked without containerd: GNU tar can read what the tar writer produces,
// the layout is a valid OCI layout (digests match content) and the output is reproducible.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, it } from 'vitest';
import { requires } from '@kedge/testkit';
import { BUSYBOX_IMAGE, buildKedgeImagesLayoutTar, PAUSE_IMAGE } from '../src/index';

interface Descriptor {
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const busybox = await requires('busybox-static');

busybox.describe('containerd-fixture - offline OCI images', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-oci-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const blob = (digest: string): Buffer => readFileSync(join(dir, 'layout', 'blobs', 'sha256', digest.replace('sha256:', '')));
  const json = <T>(digest: string): T => JSON.parse(blob(digest).toString()) as T;

  it('writes a layout tar that tar(1) extracts, with both images named for ctr', async () => {
    const tar = await buildKedgeImagesLayoutTar();
    writeFileSync(join(dir, 'layout.tar'), tar);
    execFileSync('mkdir', ['-p', join(dir, 'layout')]);
    execFileSync('tar', ['-xf', join(dir, 'layout.tar'), '-C', join(dir, 'layout')]);
    const index = JSON.parse(readFileSync(join(dir, 'layout', 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    expect(index.manifests.map((m) => m.annotations?.['io.containerd.image.name'])).toEqual([BUSYBOX_IMAGE, PAUSE_IMAGE]);
    for (const name of readdirSync(join(dir, 'layout', 'blobs', 'sha256'))) {
      const data = readFileSync(join(dir, 'layout', 'blobs', 'sha256', name));
      expect(createHash('sha256').update(data).digest('hex')).toBe(name);
    }
    const [busybox, pause] = index.manifests.map((m) => json<{ config: Descriptor; layers: Descriptor[] }>(m.digest));
    const busyboxConfig = json<{ config: { Cmd?: string[]; Env: string[] }; rootfs: { diff_ids: string[] } }>(busybox?.config.digest ?? '');
    expect(busyboxConfig.config.Cmd).toEqual(['sh']);
    expect(busyboxConfig.config.Env[0]).toMatch(/^PATH=/);
    const pauseConfig = json<{ config: { Entrypoint?: string[] } }>(pause?.config.digest ?? '');
    expect(pauseConfig.config.Entrypoint).toEqual(['/bin/sleep', '2147483647']);
    // one shared layer whose uncompressed digest is the diff_id
    const layer = busybox?.layers[0];
    expect(layer?.digest).toBe(pause?.layers[0]?.digest);
    const layerTar = gunzipSync(blob(layer?.digest ?? ''));
    expect(`sha256:${createHash('sha256').update(layerTar).digest('hex')}`).toBe(busyboxConfig.rootfs.diff_ids[0]);
    writeFileSync(join(dir, 'layer.tar'), layerTar);
    const listing = execFileSync('tar', ['-tvf', join(dir, 'layer.tar')], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rwxr-xr-x root\/root +\d+ .* bin\/busybox$/m);
    expect(listing).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/m);
    expect(listing).toMatch(/^drwxrwxrwt .* tmp\/$/m);
  });

  it('is reproducible: the same input gives the same bytes', async () => {
    expect((await buildKedgeImagesLayoutTar()).equals(readFileSync(join(dir, 'layout.tar')))).toBe(true);
  });
});
