// `kedgeadm diagnose`: read edgecore.yaml and check what a working edge node needs.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { KedgeadmUsageError } from './token-command';
import {
  checkCertificate,
  checkClock,
  checkContainerd,
  checkDisk,
  checkLinkTls,
  checkMqtt,
  checkTcp,
  splitHostPort,
  type CheckResult,
  type EdgeSettings,
} from './diagnose-checks';

type Raw = Record<string, unknown>;
const obj = (value: unknown): Raw => (value && typeof value === 'object' ? (value as Raw) : {});
const str = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

export function readEdgeSettings(configFile: string): EdgeSettings {
  if (!existsSync(configFile)) {
    throw new KedgeadmUsageError(`${configFile} does not exist; pass --config <file>, or run \`kedgeadm join\` first (it writes <prefix>/edgecore.yaml)`);
  }
  let raw: Raw;
  try {
    raw = obj(parse(readFileSync(configFile, 'utf8')));
  } catch (error) {
    throw new KedgeadmUsageError(`${configFile} is not valid YAML: ${(error as Error).message}`);
  }
  if (typeof raw.nodeName !== 'string') throw new KedgeadmUsageError(`${configFile} has no nodeName; is it an edgecore config?`);
  const hub = obj(raw.edgeHub);
  const edged = obj(raw.edged);
  const bus = obj(raw.eventBus);
  const internal = obj(bus.internal);
  return {
    nodeName: raw.nodeName,
    dataDir: str(raw.dataDir, '/var/lib/kedge/edgecore'),
    hubProtocol: str(hub.protocol, 'websocket'),
    server: str(hub.server, '127.0.0.1:10000'),
    httpServer: str(hub.httpServer, 'https://127.0.0.1:10002'),
    edgedEnabled: edged.enable !== false,
    runtimeEndpoint: str(edged.containerRuntimeEndpoint, 'unix:///run/containerd/containerd.sock'),
    mqtt: {
      enabled: bus.enable !== false && str(bus.mode, 'internal') !== 'external',
      address: str(internal.address, '127.0.0.1'),
      port: typeof internal.port === 'number' ? internal.port : 1883,
    },
  };
}

export async function diagnose(settings: EdgeSettings): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const ws = splitHostPort(settings.server);
  const https = new URL(settings.httpServer);
  const hint = 'is cloudcore running? check the address, routes and firewall (ports 10000/tcp, 10002/tcp)';
  if (settings.hubProtocol === 'quic') {
    results.push({ name: 'link to cloud (hub)', status: 'warn', detail: 'hub protocol is QUIC (UDP): not probed; the HTTPS check below covers reachability' });
  } else {
    results.push(await checkTcp('link to cloud (hub)', ws.host, ws.port, hint));
  }
  results.push(await checkTcp('link to cloud (https)', https.hostname.replace(/^\[|\]$/g, ''), Number(https.port || 443), hint));
  const tls = await checkLinkTls(settings);
  results.push(tls.result);
  results.push(checkCertificate(settings));
  results.push(await checkContainerd(settings));
  results.push(await checkMqtt(settings));
  results.push(checkDisk(settings.dataDir));
  results.push(checkClock(tls.date));
  return results;
}

export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.status.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`).join('\n');
}
