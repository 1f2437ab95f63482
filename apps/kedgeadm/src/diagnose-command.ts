// `kedgeadm diagnose`: read edgecore.yaml and check what a working edge node needs.
import { existsSync } from 'node:fs';
import { ConfigError, loadConfigFile } from '@kedge/config';
import { edgeCoreConfigSchema, type EdgeCoreConfig } from '@kedge/edgecore-config';
import { KedgeadmUsageError } from './token-command';
import { checkCertificate, checkClock, checkContainerd, checkDisk, checkLinkTls, checkMqtt, checkTcp, splitHostPort, type CheckResult } from './diagnose-checks';

/** edgecore.yaml as edgecore reads it: the same schema, the same defaults, the same errors. */
export function readEdgeCoreConfig(configFile: string): EdgeCoreConfig {
  if (!existsSync(configFile)) {
    throw new KedgeadmUsageError(`${configFile} does not exist; pass --config <file>, or run \`kedgeadm join\` first (it writes <prefix>/edgecore.yaml)`);
  }
  try {
    return loadConfigFile(configFile, edgeCoreConfigSchema);
  } catch (error) {
    // edgecore would refuse this file too: say so before checking anything else
    if (error instanceof ConfigError) throw new KedgeadmUsageError(`${error.message}\n(edgecore refuses this config as well; is it an edgecore config?)`, { cause: error });
    throw error;
  }
}

export async function diagnose(config: EdgeCoreConfig): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const ws = splitHostPort(config.edgeHub.server);
  const https = new URL(config.edgeHub.httpServer);
  const hint = 'is cloudcore running? check the address, routes and firewall (ports 10000/tcp, 10002/tcp)';
  if (config.edgeHub.protocol === 'quic') {
    results.push({ name: 'link to cloud (hub)', status: 'warn', detail: 'hub protocol is QUIC (UDP): not probed; the HTTPS check below covers reachability' });
  } else if (config.edgeHub.protocol === 'webtransport') {
    const wt = splitHostPort(config.edgeHub.webTransportServer);
    results.push(await checkTcp('link to cloud (hub)', wt.host, wt.port, 'is cloudcore running with cloudHub.webtransport enabled? check the address, routes and firewall (ports 10003/tcp, 10002/tcp)'));
  } else {
    results.push(await checkTcp('link to cloud (hub)', ws.host, ws.port, hint));
  }
  results.push(await checkTcp('link to cloud (https)', https.hostname.replace(/^\[|\]$/g, ''), Number(https.port || 443), hint));
  const tls = await checkLinkTls(config);
  results.push(tls.result);
  results.push(checkCertificate(config));
  results.push(await checkContainerd(config));
  results.push(await checkMqtt(config));
  results.push(checkDisk(config.dataDir));
  results.push(checkClock(tls.date));
  return results;
}

export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results.map((r) => `${r.status.padEnd(4)}  ${r.name.padEnd(width)}  ${r.detail}`).join('\n');
}
