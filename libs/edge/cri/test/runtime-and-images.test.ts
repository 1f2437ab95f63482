// Version, Status and the image service against a real private containerd with the offline images imported.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestContainerd } from './containerd-fixture';
import { BUSYBOX_IMAGE, importKedgeImages, PAUSE_IMAGE, privateContainerd, startTestContainerd } from './containerd-fixture';

privateContainerd.describe('cri - runtime and images', () => {
  let env: TestContainerd;
  beforeAll(async () => {
    env = await startTestContainerd('images');
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('Version names containerd and CRI v1', async () => {
    const version = await env.cri.version();
    expect(version).toMatchObject({ runtimeName: 'containerd', runtimeApiVersion: 'v1' });
    expect(version.runtimeVersion).toMatch(/^\d+\.\d+/);
  });

  it('Status is runtime-ready and, with the bridge conflist in place, network-ready', async () => {
    const status = await env.cri.status();
    expect(status.runtimeReady).toBe(true);
    expect(status.networkReady).toBe(true);
    expect(status.conditions.map((c) => c.type)).toEqual(expect.arrayContaining(['RuntimeReady', 'NetworkReady']));
  });

  it('lists both imported images and reports their status', async () => {
    const tags = (await env.cri.listImages()).flatMap((image) => image.repoTags);
    expect(tags).toEqual(expect.arrayContaining([BUSYBOX_IMAGE, PAUSE_IMAGE]));
    const busybox = await env.cri.imageStatus(BUSYBOX_IMAGE);
    expect(busybox?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(busybox?.size).toBeGreaterThan(500_000); // the static busybox binary alone is ~1 MB
    // containerd 1.6 ignores the ListImages filter; the client applies it again.
    expect((await env.cri.listImages(BUSYBOX_IMAGE)).map((image) => image.repoTags)).toEqual([[BUSYBOX_IMAGE]]);
  });

  it('verbose Status carries the CRI config, including the sandbox image', async () => {
    const status = await env.cri.status({ verbose: true });
    const criConfig = JSON.parse(status.info['config'] ?? '{}') as { sandboxImage?: string };
    expect(criConfig.sandboxImage).toBe(PAUSE_IMAGE);
  });

  it('ImageFsInfo names the image filesystem mountpoint and the bytes the images use', async () => {
    // containerd sums snapshot sizes in the background (every 10 s), so right after start it reports 0
    const deadline = Date.now() + 20_000;
    let info = await env.cri.imageFsInfo();
    while ((info.imageFilesystems[0]?.usedBytes ?? 0) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      info = await env.cri.imageFsInfo();
    }
    expect(info.imageFilesystems).toHaveLength(1);
    const [imageFs] = info.imageFilesystems;
    expect(imageFs?.mountpoint).toMatch(/^\/.*overlayfs/);
    expect(imageFs?.usedBytes).toBeGreaterThan(500_000); // the unpacked busybox layer
    expect(imageFs?.inodesUsed).toBeGreaterThan(0);
    expect(imageFs?.timestamp).toBeGreaterThan(0n);
  }, 30_000);

  it('ImageStatus of an absent image is undefined, not an error', async () => {
    expect(await env.cri.imageStatus('localhost/kedge/absent:1')).toBeUndefined();
  });

  it('RemoveImage removes an image and a re-import brings it back', async () => {
    await env.cri.removeImage(BUSYBOX_IMAGE);
    expect(await env.cri.imageStatus(BUSYBOX_IMAGE)).toBeUndefined();
    await env.cri.removeImage(BUSYBOX_IMAGE); // idempotent
    await importKedgeImages(env.containerd.socketPath, env.containerd.paths.imageCacheDir);
    expect(await env.cri.imageStatus(BUSYBOX_IMAGE)).toBeDefined();
  });
});
