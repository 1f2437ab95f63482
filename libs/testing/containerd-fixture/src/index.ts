// @kedge/containerd-fixture (test-only): a private containerd under a temp dir with the CRI plugin configured
// for this machine, the offline busybox and pause images as OCI layouts, and the tar writer behind them.
// Tests, benchmarks and the all-in-one demo use it; production code may not (lint enforces type:test).
export {
  ctrVersion,
  isOurContainerd,
  mountsUnder,
  processExited,
  removeAllPodSandboxes,
  unmountUnder,
  waitForExit,
} from './containerd-process';
export {
  BUSYBOX_IMAGE,
  buildKedgeImagesLayoutTar,
  ensureKedgeImagesTar,
  importImageTar,
  importKedgeImages,
  KEDGE_IMAGES,
  ociLayoutTar,
  PAUSE_IMAGE,
  type LayoutImage,
} from './oci-image';
export {
  bridgeConflist,
  containerdConfig,
  containerdPaths,
  DEFAULT_BRIDGE_NAME,
  DEFAULT_POD_SUBNET,
  isContainerdAvailable,
  PRIVATE_CONTAINERD_NEEDS,
  privateContainerdStatus,
  readPid,
  SANDBOX_IMAGE,
  startPrivateContainerd,
  stopPrivateContainerd,
  type ContainerdAvailability,
  type ContainerdPaths,
  type ContainerdStatus,
  type PrivateContainerd,
  type PrivateContainerdOptions,
  type StopReport,
} from './private-containerd';
export { createTar, type TarEntry } from './tar-writer';
