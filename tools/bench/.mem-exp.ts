// scratch experiment (not committed): one cloudcore, edgecores from a tarball with given options, RSS + heap snapshot summary
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueToken, writeTokenFile } from '../e2e/cluster';
import { KedgeProcess, writeYaml } from '../e2e/harness';
import { buildEdgecoreTarball } from '../package/edgecore-tarball';
import { benchTempDir, loopbackCloudCoreConfig, repoRoot, residentBytes, runBenchmark, sleep, startCloudCoreProcess, stopAllCloudCores, type CloudCoreProcess } from './bench-kit';

const variants: { name: string; options: string; env?: Record<string, string> }[] = JSON.parse(process.env.VARIANTS ?? '[]');
const snapshot = process.env.SNAPSHOT === '1';
const procs: KedgeProcess[] = [];
let cloud: CloudCoreProcess | undefined;
runBenchmark('exp', async () => {
  const work = benchTempDir('kbx-');
  const tarball = process.env.TARBALL ?? (await buildEdgecoreTarball(join(work, 'dist'), { log: () => {} })).file;
  const unpacked = join(work, 'gw'); mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
  mkdirSync(join(work, 'cloud'));
  cloud = await startCloudCoreProcess({ repoRoot, dataDir: join(work, 'cloud'), config: loopbackCloudCoreConfig({ keepaliveTimeoutSeconds: 600 }, { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } } }) });
  const tokenFile = writeTokenFile(work, await issueToken(cloud, ['--node-pattern', 'x-*', '--count', '100']));
  for (const v of variants) {
    const dir = join(work, v.name); mkdirSync(dir);
    const config = writeYaml(join(dir, 'e.yaml'), { nodeName: `x-${v.name}`, dataDir: dir, edgeHub: { protocol: 'websocket', server: `127.0.0.1:${cloud.ports.websocket}`, httpServer: `https://127.0.0.1:${cloud.ports.https}` }, metrics: { address: '127.0.0.1', port: 0 }, metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } }, eventBus: { internal: { address: '127.0.0.1', port: 0 } }, edged: { enable: false }, log: { level: 'info' } });
    const child = spawn(join(unpacked, 'bin', 'edgecore'), ['--config', config, '--token-file', tokenFile], { cwd: dir, env: { ...process.env, NODE: process.execPath, KEDGE_NODE_OPTIONS: `${v.options}${snapshot ? ' --heapsnapshot-signal=SIGUSR2' : ''}`, ...v.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(new KedgeProcess(v.name, child));
  }
  for (const p of procs) await p.waitForLog((l) => l.msg === 'edgecore ready', 'ready', 120_000);
  await sleep(15_000);
  for (const p of procs) console.log(p.name, (residentBytes(p.pid) / 1e6).toFixed(1), 'MB');
  if (snapshot) {
    const p = procs[0]!;
    process.kill(p.pid, 'SIGUSR2');
    const dir = join(work, variants[0]!.name);
    let file: string | undefined;
    for (let i = 0; i < 120 && !file; i++) { await sleep(1000); file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot')); }
    let last = -1; for (;;) { await sleep(2000); const size = (await import('node:fs')).statSync(join(dir, file!)).size; if (size > 0 && size === last) break; last = size; }
    execFileSync('cp', [join(dir, file!), '/tmp/memx/edge.heapsnapshot']);
    console.log('snapshot copied');
  }
}, { shutdown: async () => { await Promise.all(procs.map((p) => p.stop('SIGTERM', 5000))); await cloud?.stop(5000); await stopAllCloudCores(2000); } });
