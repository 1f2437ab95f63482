// The checks of `kedgeadm diagnose`; each returns ok/warn/fail and, when not ok, what to do.
import { connect as tcpConnect } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connectCri } from '@kedge/cri';
import { containerRuntimeSocket, type EdgeCoreConfig } from '@kedge/edgecore-config';
import { describeCertificate, isIssuedBy, ownNodeNameOf } from '@kedge/pki';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}

// a missing socket fails at once; a hung runtime within this deadline
const CRI_VERSION_TIMEOUT_MS = 3_000;

export function splitHostPort(hostPort: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(hostPort);
  if (!match) return { host: hostPort, port: 0 };
  return { host: match[1] as string, port: Number(match[2]) };
}

export function tcpProbe(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const done = (error?: string): void => {
      socket.destroy();
      resolve(error);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

export async function checkTcp(name: string, host: string, port: number, hint: string): Promise<CheckResult> {
  const error = await tcpProbe(host, port);
  return error === undefined
    ? { name, status: 'ok', detail: `${host}:${port} accepts connections` }
    : { name, status: 'fail', detail: `${host}:${port}: ${error}; ${hint}` };
}

/** TLS to the certificate server, verified with the stored CA; also yields the server's Date header. */
export function tlsProbe(url: string, caPem: string, timeoutMs = 5000): Promise<{ error?: string; date?: Date }> {
  return new Promise((resolve) => {
    const req = httpsRequest(new URL('ca.crt', url.endsWith('/') ? url : `${url}/`), { agent: false, ca: caPem, rejectUnauthorized: true, timeout: timeoutMs });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.on('response', (res) => {
      res.resume();
      const header = res.headers.date;
      resolve(header ? { date: new Date(header) } : {});
    });
    req.end();
  });
}

export function checkCertificate(config: EdgeCoreConfig, now = new Date()): CheckResult {
  const name = 'node certificate';
  const pki = join(config.dataDir, 'pki');
  const caFile = join(pki, 'ca.crt');
  const certFile = join(pki, 'node.crt');
  if (!existsSync(caFile) || !existsSync(certFile)) {
    return { name, status: 'fail', detail: `no ${certFile} or ${caFile}: this node has not joined; run \`kedgeadm join\` with a token from \`kedgeadm token\`` };
  }
  try {
    const caPem = readFileSync(caFile, 'utf8');
    const certPem = readFileSync(certFile, 'utf8');
    if (!isIssuedBy(certPem, caPem)) return { name, status: 'fail', detail: `${certFile} is not issued by ${caFile}; \`kedgeadm reset\` and join again` };
    const owner = ownNodeNameOf(certPem);
    if (owner !== config.nodeName) {
      return { name, status: 'fail', detail: `${certFile} is for node "${owner ?? '?'}", the config says "${config.nodeName}"; fix nodeName or reset and join again` };
    }
    const { notAfter, notBefore } = describeCertificate(certPem);
    if (now >= notAfter) return { name, status: 'fail', detail: `expired at ${notAfter.toISOString()}; get a new token with \`kedgeadm token\`, reset and join again` };
    if (now < notBefore) return { name, status: 'fail', detail: `not valid before ${notBefore.toISOString()}: this clock is behind; fix NTP` };
    const days = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
    if (days < 7) return { name, status: 'warn', detail: `expires in ${days} days (${notAfter.toISOString()}); edgecore rotates it while connected, check the link` };
    return { name, status: 'ok', detail: `node "${owner}", issued by the stored CA, valid until ${notAfter.toISOString()}` };
  } catch (error) {
    return { name, status: 'fail', detail: `cannot read the certificates (${(error as Error).message}); reset and join again` };
  }
}

export async function checkLinkTls(config: EdgeCoreConfig): Promise<{ result: CheckResult; date?: Date }> {
  const name = 'TLS to cloud';
  const { httpServer } = config.edgeHub;
  const caFile = join(config.dataDir, 'pki', 'ca.crt');
  if (!existsSync(caFile)) return { result: { name, status: 'fail', detail: `no ${caFile}; join first` } };
  const probe = await tlsProbe(httpServer, readFileSync(caFile, 'utf8'));
  if (probe.error) {
    const trust = /CERT|SIGNATURE|ALTNAME|SELF_SIGNED|VERIFY/.test(probe.error);
    const hint = trust
      ? 'the server is not trusted by the stored CA: the cloud was re-initialised or this is another cluster; reset and join with a new token'
      : 'check that cloudcore runs and the address/firewall';
    return { result: { name, status: 'fail', detail: `${httpServer}: ${probe.error}; ${hint}` } };
  }
  return { result: { name, status: 'ok', detail: `${httpServer} presents a certificate of the stored CA` }, ...(probe.date ? { date: probe.date } : {}) };
}

export function checkClock(cloudDate: Date | undefined, now = new Date()): CheckResult {
  const name = 'clock';
  if (!cloudDate || Number.isNaN(cloudDate.getTime())) return { name, status: 'warn', detail: 'could not read the cloud time (no HTTPS answer); check the link first' };
  const skew = Math.round((now.getTime() - cloudDate.getTime()) / 1000);
  const text = `${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} the cloud`;
  if (Math.abs(skew) > 300) return { name, status: 'fail', detail: `${text}: certificates and leases misbehave; enable NTP (timedatectl set-ntp true)` };
  if (Math.abs(skew) > 10) return { name, status: 'warn', detail: `${text}; enable NTP (timedatectl set-ntp true)` };
  return { name, status: 'ok', detail: text };
}

export async function checkContainerd(config: EdgeCoreConfig): Promise<CheckResult> {
  const name = 'container runtime';
  if (!config.edged.enable) return { name, status: 'ok', detail: 'edged is disabled in the config: no pods on this node' };
  const socket = containerRuntimeSocket(config);
  if (!existsSync(socket)) {
    return { name, status: 'fail', detail: `${socket} does not exist: start containerd (systemctl start containerd) or set edged.containerRuntimeEndpoint` };
  }
  // the client edged uses, so diagnose asks exactly what edgecore will ask
  const cri = connectCri(socket, { timeoutMs: CRI_VERSION_TIMEOUT_MS });
  try {
    const version = await cri.version();
    return { name, status: 'ok', detail: `${version.runtimeName} ${version.runtimeVersion} (CRI ${version.runtimeApiVersion}) on ${socket}` };
  } catch (error) {
    return { name, status: 'fail', detail: `${socket} does not answer CRI Version (${(error as Error).message}); is the CRI plugin enabled in containerd's config.toml?` };
  } finally {
    cri.close();
  }
}

export async function checkMqtt(config: EdgeCoreConfig): Promise<CheckResult> {
  const name = 'MQTT broker';
  const { enable, mode, internal } = config.eventBus;
  if (!enable) return { name, status: 'ok', detail: 'eventBus is disabled in the config' };
  if (mode === 'external') return { name, status: 'ok', detail: 'eventBus mode external: edgecore runs no broker here' };
  if (internal.port === 0) return { name, status: 'warn', detail: 'eventBus.internal.port is 0 (picked at start): see ports.mqtt in the "edgecore ready" log' };
  const error = await tcpProbe(internal.address, internal.port);
  return error === undefined
    ? { name, status: 'ok', detail: `${internal.address}:${internal.port} accepts connections` }
    : {
        name,
        status: 'warn',
        detail: `${internal.address}:${internal.port}: ${error}; the embedded broker runs inside edgecore: start edgecore; if it logs EADDRINUSE another broker (mosquitto?) holds the port`,
      };
}

export function checkDisk(dataDir: string): CheckResult {
  const name = 'disk space';
  let dir = dataDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    const stats = statfsSync(dir);
    const freeMiB = Math.floor((stats.bavail * stats.bsize) / 1024 / 1024);
    if (freeMiB < 100) return { name, status: 'fail', detail: `${freeMiB} MiB free on ${dir}; free space (old images: crictl rmi --prune)` };
    if (freeMiB < 1024) return { name, status: 'warn', detail: `${freeMiB} MiB free on ${dir}; images and logs need room` };
    return { name, status: 'ok', detail: `${freeMiB} MiB free on ${dir}` };
  } catch (error) {
    return { name, status: 'warn', detail: `cannot stat ${dir}: ${(error as Error).message}` };
  }
}
