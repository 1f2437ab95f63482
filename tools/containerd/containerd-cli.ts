// CLI behind tools/containerd/containerd.sh: start|stop|status <dir> for a private containerd.
// `start` also imports the offline kedge images, so the CRI is usable right away (sandbox image included).
import { containerdPaths, importKedgeImages, isContainerdAvailable, privateContainerdStatus, startPrivateContainerd, stopPrivateContainerd } from '@kedge/containerd-fixture';

const USAGE = 'usage: tools/containerd/containerd.sh start|stop|status <dir>';

async function main(argv: string[]): Promise<number> {
  const [command, dir] = argv;
  if (!command || !dir) {
    console.error(USAGE);
    return 2;
  }
  switch (command) {
    case 'start': {
      const availability = await isContainerdAvailable();
      if (!availability.available) {
        console.error(`cannot start containerd: ${availability.reason}`);
        return 1;
      }
      const started = Date.now();
      const containerd = await startPrivateContainerd(dir);
      const images = await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
      console.log(`containerd running: pid ${containerd.pid}, ready in ${Date.now() - started} ms`);
      console.log(`  socket  ${containerd.socketPath}   (CRI: unix://${containerd.socketPath})`);
      console.log(`  log     ${containerd.paths.logPath}`);
      console.log(`  images  ${images.join(', ')}`);
      console.log(`  ctr     ctr -a ${containerd.socketPath} -n k8s.io containers ls`);
      return 0;
    }
    case 'stop': {
      const report = await stopPrivateContainerd(dir);
      if (report.pid === undefined) console.log(`no containerd running for ${containerdPaths(dir).dir}`);
      else console.log(`stopped containerd pid ${report.pid}; removed ${report.removedSandboxes.length} pod sandbox(es)`);
      if (report.unmounted.length) console.log(`unmounted ${report.unmounted.length} leftover mount(s) under ${containerdPaths(dir).dir}`);
      return 0;
    }
    case 'status': {
      const status = await privateContainerdStatus(dir);
      if (status.running) console.log(`running: pid ${status.pid}, containerd ${status.version}, socket ${status.socketPath}`);
      else if (status.pid !== undefined) console.log(`pid ${status.pid} alive but ${status.socketPath} does not answer`);
      else console.log(`not running (${containerdPaths(dir).dir})`);
      return status.running ? 0 : 3;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
