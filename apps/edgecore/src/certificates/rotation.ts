// Renewing the node certificate before it expires, authenticated by the certificate itself (mTLS),
// at a jittered point of its lifetime so that a fleet does not renew in the same minute.
import { rotationFraction, rotationTime } from '@kedge/pki';
import { DEFAULT_REQUEST_TIMEOUT_MS, X509_IN_PROCESS, type X509Steps } from './bootstrap';
import { CertificateServerError, NodeIdentityError } from './errors';
import { exchange, refusalError } from './https-request';
import { isCertificateFor, loadNodeIdentity, nodeIdentityStore, saveNodeIdentity, type NodeIdentity } from './node-identity';

export interface RotateNodeCertificateOptions {
  serverUrl: string;
  dir: string;
  nodeName: string;
  timeoutMs?: number;
  /** where the CSR is made: in this process (default) or, in edgecore, its start-up helper */
  x509?: Pick<X509Steps, 'createNodeKeyAndCsr'>;
}

export interface ScheduleRotationOptions extends RotateNodeCertificateOptions {
  onRotated?: (identity: NodeIdentity) => void;
  onError?: (error: Error) => void;
  /** first retry after a failed rotation; doubles up to 15 minutes. 30 s by default */
  retryDelayMs?: number;
  /** source of the jitter, Math.random by default */
  random?: () => number;
  /** the current time, for tests */
  clock?: () => Date;
}

export interface RotationSchedule {
  /** when the next rotation attempt is planned, once known */
  readonly nextAttemptAt: Date | undefined;
  stop(): void;
}

// setTimeout fires at once for delays above 2^31-1 ms (~24.8 days): longer waits are chained
const MAX_TIMER_MS = 2_147_483_647;
const MAX_RETRY_DELAY_MS = 15 * 60_000;

export async function rotateNodeCertificate(options: RotateNodeCertificateOptions): Promise<NodeIdentity> {
  const store = nodeIdentityStore(options.dir);
  const stored = await loadNodeIdentity(store, options.nodeName);
  if (stored.state === 'expired') {
    throw new NodeIdentityError(
      'CERTIFICATE_EXPIRED',
      `the node certificate in ${options.dir} expired at ${stored.notAfter.toISOString()} and cannot renew itself; ` +
        'join again with a new token from `kedgeadm token`',
    );
  }
  if (stored.state !== 'valid') {
    throw new NodeIdentityError(
      stored.state === 'other-node' ? 'NODE_NAME_MISMATCH' : 'NOT_BOOTSTRAPPED',
      `no valid certificate of node "${options.nodeName}" in ${options.dir} to renew` +
        `${stored.state === 'unusable' ? ` (${stored.reason})` : ''}; join first with a token from \`kedgeadm token\``,
    );
  }
  const current = stored.identity;
  const { keyPem, csrPem } = await (options.x509 ?? X509_IN_PROCESS).createNodeKeyAndCsr(options.nodeName);
  const response = await exchange({
    serverUrl: options.serverUrl,
    path: 'edge.crt',
    method: 'POST',
    headers: { NodeName: options.nodeName, 'Content-Type': 'application/x-pem-file' },
    body: csrPem,
    trustedCaPem: current.caPem,
    clientCertificate: { certPem: current.certPem, keyPem: current.keyPem },
    timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  });
  if (response.status !== 200) throw refusalError(options.serverUrl, response);
  const renewed = { caPem: current.caPem, certPem: response.body.toString('utf8'), keyPem };
  if (!isCertificateFor(renewed, options.nodeName)) {
    throw new CertificateServerError(
      'BAD_RESPONSE',
      `${options.serverUrl} returned a certificate that is not a certificate of this cluster's CA for node "${options.nodeName}" and the new key; the current one is kept`,
    );
  }
  await saveNodeIdentity(store, renewed);
  return renewed;
}

/** Rotates the stored certificate at its jittered rotation point, then plans the next one. */
export function scheduleRotation(options: ScheduleRotationOptions): RotationSchedule {
  const clock = options.clock ?? (() => new Date());
  const random = options.random ?? Math.random;
  const retryDelayMs = options.retryDelayMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  let nextAttemptAt: Date | undefined;

  const report = (error: unknown): void => {
    try {
      options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // a failing error handler must not end the schedule
    }
  };

  const armAt = (at: Date): void => {
    if (stopped) return;
    nextAttemptAt = at;
    const delay = Math.max(0, at.getTime() - clock().getTime());
    timer = setTimeout(() => (delay > MAX_TIMER_MS ? armAt(at) : void attempt()), Math.min(delay, MAX_TIMER_MS));
    timer.unref(); // a pending renewal must not keep the process alive
  };

  const retryLater = (error: unknown): void => {
    failures += 1;
    report(error);
    armAt(new Date(clock().getTime() + Math.min(retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS)));
  };

  const planFromStore = async (): Promise<void> => {
    try {
      const stored = await loadNodeIdentity(nodeIdentityStore(options.dir), options.nodeName);
      if (stored.state !== 'valid') throw new NodeIdentityError('NOT_BOOTSTRAPPED', `no valid node certificate in ${options.dir} to schedule a renewal for`);
      armAt(rotationTime(stored.identity.certPem, { fraction: rotationFraction(random()) }));
    } catch (error) {
      retryLater(error);
    }
  };

  const attempt = async (): Promise<void> => {
    if (stopped) return;
    try {
      const identity = await rotateNodeCertificate(options);
      failures = 0;
      if (stopped) return;
      try {
        options.onRotated?.(identity);
      } catch (error) {
        report(error);
      }
      await planFromStore();
    } catch (error) {
      retryLater(error);
    }
  };

  void planFromStore();
  return {
    get nextAttemptAt() {
      return nextAttemptAt;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
