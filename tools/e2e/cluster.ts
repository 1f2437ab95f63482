// A small shared harness for hub tests: one cloudcore and any number of edgecores, in temp dirs,
// on free loopback ports, joined with real tokens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKedgeadm, startApp, tempDir, writeYaml, type KedgeProcess, type LogLine } from './harness';

export interface CloudCoreHandle {
  process: KedgeProcess;
  dataDir: string;
  configFile: string;
  ports: { websocket: number; quic: number | undefined; webtransport?: number | undefined; https: number; metrics: number };
  /** admin kubeconfig of the embedded API server, or the cluster's (settings.kubeconfig) */
  kubeconfig: string;
}

export interface CloudCoreSettings {
  quic?: boolean;
  /** also listen for WebTransport (over HTTP/2) edges */
  webtransport?: boolean;
  keepaliveTimeoutSeconds?: number;
  /** reuse these ports (a restart must come back where the edges look for it) */
  ports?: Partial<CloudCoreHandle['ports']>;
  dataDir?: string;
  nodeGracePeriodSeconds?: number;
  /** run against this cluster (kubeAPI.kubeconfig) instead of the embedded API server */
  kubeconfig?: string;
  /** the embedded API server's port (default 0: any free one) */
  apiserverPort?: number;
  /** kubeAPI.embedded.metricsScrapeIntervalSeconds (default 15) */
  metricsScrapeIntervalSeconds?: number;
  /** the first port of the kubelet API's per-node range (default: random) */
  kubeletPortRangeStart?: number;
  /** cloudHub.https.bundleDir: install.sh and gateway bundles served on the certificate port */
  bundleDir?: string;
}

export async function startCloudCore(settings: CloudCoreSettings = {}): Promise<CloudCoreHandle> {
  const dataDir = settings.dataDir ?? tempDir('cloud');
  const configFile = writeYaml(join(dataDir, 'cloudcore.yaml'), {
    dataDir,
    cloudHub: {
      advertiseAddresses: ['127.0.0.1'],
      websocket: { address: '127.0.0.1', port: settings.ports?.websocket ?? 0 },
      quic: { enable: settings.quic ?? false, address: '127.0.0.1', port: settings.ports?.quic ?? 0 },
      webtransport: { enable: settings.webtransport ?? false, address: '127.0.0.1', port: settings.ports?.webtransport ?? 0 },
      https: { address: '127.0.0.1', port: settings.ports?.https ?? 0, ...(settings.bundleDir === undefined ? {} : { bundleDir: settings.bundleDir }) },
      keepaliveTimeoutSeconds: settings.keepaliveTimeoutSeconds ?? 30,
    },
    // loopback only, in a range of its own (parallel test files share the machine); nodes keep their port across restarts
    kubeletApi: { bindAddress: '127.0.0.1', advertiseAddress: '127.0.0.1', portRangeStart: settings.kubeletPortRangeStart ?? 20_000 + Math.floor(Math.random() * 40_000), portRangeSize: 50 },
    kubeAPI: settings.kubeconfig
      ? { kubeconfig: settings.kubeconfig }
      : {
          embedded: {
            address: '127.0.0.1',
            port: settings.apiserverPort ?? 0,
            ...(settings.metricsScrapeIntervalSeconds === undefined ? {} : { metricsScrapeIntervalSeconds: settings.metricsScrapeIntervalSeconds }),
          },
        },
    nodeLifecycle: { gracePeriodSeconds: settings.nodeGracePeriodSeconds ?? 40, checkIntervalSeconds: 1 },
    metrics: { address: '127.0.0.1', port: settings.ports?.metrics ?? 0 },
    log: { level: 'debug' },
  });
  const process = startApp('cloudcore', ['--config', configFile]);
  const ready = await process.waitForLog((l) => l.msg === 'cloudcore ready', 'cloudcore ready');
  const ports = ready.ports as CloudCoreHandle['ports'];
  return { process, dataDir, configFile, ports, kubeconfig: settings.kubeconfig ?? String(ready.kubeconfig) };
}

/** `kedgeadm token create`: `extra` must bind it (`--node <name>`, or `--node-pattern <p> --count <n>`) */
export async function issueToken(cloud: { dataDir: string }, extra: string[]): Promise<string> {
  const result = await runKedgeadm(['token', 'create', '--data-dir', cloud.dataDir, ...extra]);
  if (result.code !== 0) throw new Error(`kedgeadm token failed (${result.code}): ${result.stderr}`);
  return result.stdout.trim();
}

export interface EdgeCoreHandle {
  process: KedgeProcess;
  nodeName: string;
  dataDir: string;
  configFile: string;
}

export interface EdgeCoreSettings {
  nodeName: string;
  /** joins with this token, written to a 0600 file for --token-file (never on the command line) */
  token?: string;
  /** or joins with this token piped to `--token -` */
  tokenOnStdin?: string;
  protocol?: 'websocket' | 'quic' | 'webtransport';
  maxReconnectDelayMs?: number;
  heartbeatSeconds?: number;
  leaseRenewSeconds?: number;
  dataDir?: string;
  /** dial the WebSocket hub on this port instead (a proxy in front of cloudcore) */
  hubPort?: number;
  /** MetaServer port (0 = any free) */
  metaServerPort?: number;
  /** MetaServer's pod listener port on the node's IP (default 0 = any free; pods keep the port they started with, so a long-lived gateway uses a fixed one) */
  metaServerPodPort?: number;
  /** use this external MQTT broker (eventBus mode external) instead of the embedded one */
  externalBrokerUrl?: string;
  /** run pods on this CRI runtime (e.g. a private containerd from libs/testing/containerd-fixture); default: edged off */
  edged?: {
    containerRuntimeEndpoint: string;
    restartBackoffBaseMs?: number;
    podsDir?: string;
    /** edged.podSecurity; default: the secure default (no privileged, hostNetwork or hostPath) */
    podSecurity?: { allowPrivileged?: boolean; allowHostNetwork?: boolean; allowedHostPaths?: string[] };
  };
}

export function startEdgeCore(cloud: CloudCoreHandle, settings: EdgeCoreSettings): EdgeCoreHandle {
  const dataDir = settings.dataDir ?? tempDir(`edge-${settings.nodeName}`);
  const configFile = writeYaml(join(dataDir, 'edgecore.yaml'), {
    nodeName: settings.nodeName,
    dataDir,
    edgeHub: {
      protocol: settings.protocol ?? 'websocket',
      server: `127.0.0.1:${settings.hubPort ?? cloud.ports.websocket}`,
      quicServer: `127.0.0.1:${cloud.ports.quic ?? 10001}`,
      webTransportServer: `127.0.0.1:${cloud.ports.webtransport ?? 10003}`,
      httpServer: `https://127.0.0.1:${cloud.ports.https}`,
      heartbeatSeconds: settings.heartbeatSeconds ?? 1,
      reconnect: { initialDelayMs: 100, maxDelayMs: settings.maxReconnectDelayMs ?? 2_000 },
    },
    metrics: { address: '127.0.0.1', port: 0 },
    // the pod-facing listener (node IP) on a free port: several edgecores run at once
    metaServer: { address: '127.0.0.1', port: settings.metaServerPort ?? 0, podAccess: { port: settings.metaServerPodPort ?? 0 } },
    // several edgecores run at once: each embedded MQTT broker on a free port (see "edgecore ready" ports.mqtt)
    eventBus: settings.externalBrokerUrl
      ? { mode: 'external', external: { url: settings.externalBrokerUrl } }
      : { internal: { address: '127.0.0.1', port: 0 } },
    nodeStatus: { leaseRenewSeconds: settings.leaseRenewSeconds ?? 1, statusUpdateSeconds: 5 },
    // hub tests run without containerd; pods have their own suite in libs/edge/edged
    edged: settings.edged
      ? {
          enable: true,
          containerRuntimeEndpoint: settings.edged.containerRuntimeEndpoint,
          podsDir: settings.edged.podsDir ?? join(dataDir, 'pods'),
          // a small back-off, so a crashing container restarts within a test's time
          restartBackoffBaseMs: settings.edged.restartBackoffBaseMs ?? 200,
          ...(settings.edged.podSecurity ? { podSecurity: settings.edged.podSecurity } : {}),
        }
      : { enable: false },
    log: { level: 'debug' },
  });
  const args = ['--config', configFile];
  if (settings.token) args.push('--token-file', writeTokenFile(dataDir, settings.token));
  if (settings.tokenOnStdin) args.push('--token', '-');
  const process = startApp('edgecore', args, {}, settings.tokenOnStdin === undefined ? undefined : `${settings.tokenOnStdin}\n`);
  return { process, nodeName: settings.nodeName, dataDir, configFile };
}

/** the token in a file only its owner can read, as an operator would hand it to edgecore */
export function writeTokenFile(dir: string, token: string): string {
  const file = join(dir, 'join.token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

export const isNodeConnected = (nodeName: string) => (l: LogLine) => l.msg === 'node connected' && l.nodeName === nodeName;
