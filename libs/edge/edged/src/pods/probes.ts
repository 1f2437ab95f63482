// Liveness and readiness probes: exec (through the runtime's ExecSync), httpGet and tcpSocket. Each probe
// keeps the kubelet's counters so thresholds and periods mean what they mean in Kubernetes.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { CriClient } from '@kedge/cri';
import type { ContainerSpec, ProbeSpec } from './pod-spec';

export type ProbeResult = { ok: true } | { ok: false; message: string };

function resolvePort(port: number | string, container: ContainerSpec): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port)?.containerPort;
  return named ?? Number(port);
}

async function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ ok: false, message: `Get http://${host}:${port}${path}: ${error.message}` }));
    req.end();
  });
}

async function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('timeout', () => socket.destroy(new Error('timeout')));
    socket.once('error', (error) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${error.message}` }));
  });
}

export async function runProbe(cri: CriClient, containerId: string, container: ContainerSpec, probe: ProbeSpec, podIP: string): Promise<ProbeResult> {
  const timeoutSeconds = probe.timeoutSeconds ?? 1;
  try {
    if (probe.exec) {
      const result = await cri.execSync(containerId, probe.exec.command ?? [], { timeoutSeconds });
      if (result.exitCode === 0) return { ok: true };
      return { ok: false, message: `exec probe exited with ${result.exitCode}: ${result.stdout.toString()}${result.stderr.toString()}`.trim() };
    }
    const host = probe.httpGet?.host ?? probe.tcpSocket?.host ?? (podIP || '127.0.0.1');
    if (probe.httpGet) return await httpProbe(host, resolvePort(probe.httpGet.port, container), probe.httpGet.path ?? '/', timeoutSeconds * 1000);
    if (probe.tcpSocket) return await tcpProbe(host, resolvePort(probe.tcpSocket.port, container), timeoutSeconds * 1000);
    return { ok: true };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** The counters of one probe of one container instance; a new container id starts fresh. */
export class ProbeState {
  private lastRunMs = 0;
  private failures = 0;
  private successes = 0;
  /** Liveness starts healthy, readiness starts not ready: as in the kubelet. */
  healthy: boolean;
  lastMessage = '';

  constructor(
    readonly containerId: string,
    private readonly probe: ProbeSpec,
    initiallyHealthy: boolean,
    private readonly startedAtMs: number,
  ) {
    this.healthy = initiallyHealthy;
  }

  due(nowMs: number): boolean {
    if (nowMs < this.startedAtMs + (this.probe.initialDelaySeconds ?? 0) * 1000) return false;
    return nowMs - this.lastRunMs >= (this.probe.periodSeconds ?? 10) * 1000;
  }

  record(result: ProbeResult, nowMs: number): void {
    this.lastRunMs = nowMs;
    if (result.ok) {
      this.failures = 0;
      this.successes += 1;
      if (this.successes >= (this.probe.successThreshold ?? 1)) this.healthy = true;
    } else {
      this.successes = 0;
      this.failures += 1;
      this.lastMessage = result.message;
      if (this.failures >= (this.probe.failureThreshold ?? 3)) this.healthy = false;
    }
  }
}
