// What edged gives a pod for the Kubernetes API, without containerd: the kubelet's service variables
// (pkg/kubelet/envvars), the kubelet's token refresh rule, and the token store that lets an edgecore
// restarted offline mount a token that is still valid.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaStore } from '@kedge/metamanager';
import { newMessage, type TokenAnswer, type TokenRequestContent } from '@kedge/protocol';
import { createLogger } from '@kedge/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { asPod, needsRefresh, PodSetupError, serviceEnv, serviceVariables, ServiceAccountTokens, type Pod } from '../../src/index';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-podapi-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const silent = createLogger({ name: 'test', level: 'silent' });

function pod(spec: Record<string, unknown> = {}): Pod {
  const parsed = asPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'meter', namespace: 'plant', uid: 'uid-meter' }, spec: { containers: [{ name: 'app', image: 'x' }], serviceAccountName: 'reader', ...spec } });
  if (parsed === undefined) throw new Error('not a pod');
  return parsed;
}

describe('pod API access - service environment variables', () => {
  it('names a Service as upstream does: host, port, named ports and docker links', () => {
    const vars = Object.fromEntries(
      serviceVariables({ name: 'redis-master', clusterIP: '10.0.0.11', ports: [{ port: 6379, name: 'redis' }, { port: 6380, protocol: 'UDP' }] }).map(({ key, value }) => [key, value]),
    );
    expect(vars).toEqual({
      REDIS_MASTER_SERVICE_HOST: '10.0.0.11',
      REDIS_MASTER_SERVICE_PORT: '6379',
      REDIS_MASTER_SERVICE_PORT_REDIS: '6379',
      REDIS_MASTER_PORT: 'tcp://10.0.0.11:6379',
      REDIS_MASTER_PORT_6379_TCP: 'tcp://10.0.0.11:6379',
      REDIS_MASTER_PORT_6379_TCP_PROTO: 'tcp',
      REDIS_MASTER_PORT_6379_TCP_PORT: '6379',
      REDIS_MASTER_PORT_6379_TCP_ADDR: '10.0.0.11',
      REDIS_MASTER_PORT_6380_UDP: 'udp://10.0.0.11:6380',
      REDIS_MASTER_PORT_6380_UDP_PROTO: 'udp',
      REDIS_MASTER_PORT_6380_UDP_PORT: '6380',
      REDIS_MASTER_PORT_6380_UDP_ADDR: '10.0.0.11',
    });
  });

  it('gives the pod its namespace\'s Services (not headless ones, not other namespaces) and the API as the kubernetes Service; enableServiceLinks: false keeps only the API', () => {
    const store = new MetaStore({ file: join(tempDir(), 'edgecore.db') });
    let version = 0;
    const service = (namespace: string, name: string, spec: Record<string, unknown>): void => {
      version += 1;
      store.apply(newMessage({ source: 'edgecontroller', group: 'resource', operation: 'insert', resource: `${namespace}/service/${name}`, content: { metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: String(version) }, spec }, resourceVersion: String(version) }));
    };
    service('plant', 'meter-db', { clusterIP: '10.43.1.2', ports: [{ port: 5432, name: 'sql', protocol: 'TCP' }] });
    service('plant', 'headless', { clusterIP: 'None', ports: [{ port: 80 }] });
    service('other', 'elsewhere', { clusterIP: '10.43.9.9', ports: [{ port: 80 }] });
    const api = { host: '192.0.2.2', port: 10551 };
    const keys = (vars: { key: string; value: string }[]) => Object.fromEntries(vars.map(({ key, value }) => [key, value]));
    const all = keys(serviceEnv(store, pod(), api));
    expect(all).toMatchObject({ METER_DB_SERVICE_HOST: '10.43.1.2', METER_DB_SERVICE_PORT_SQL: '5432', KUBERNETES_SERVICE_HOST: '192.0.2.2', KUBERNETES_SERVICE_PORT: '10551', KUBERNETES_SERVICE_PORT_HTTPS: '10551', KUBERNETES_PORT: 'tcp://192.0.2.2:10551', KUBERNETES_PORT_10551_TCP_ADDR: '192.0.2.2' });
    expect(Object.keys(all).some((key) => key.startsWith('HEADLESS_') || key.startsWith('ELSEWHERE_'))).toBe(false);
    const noLinks = keys(serviceEnv(store, pod({ enableServiceLinks: false }), api));
    expect(Object.keys(noLinks).every((key) => key.startsWith('KUBERNETES_'))).toBe(true);
    expect(serviceEnv(store, pod({ enableServiceLinks: false }), undefined)).toEqual([]);
    store.close();
  });
});

describe('pod API access - ServiceAccount tokens', () => {
  const hour = 3600_000;
  it('refreshes as the kubelet does: after 80% of the lifetime, after 24 h, or once expired', () => {
    const held = { token: 't', issuedAtMs: 0, expiresAtMs: hour };
    expect(needsRefresh(held, 0.79 * hour)).toBe(false);
    expect(needsRefresh(held, 0.8 * hour)).toBe(true);
    expect(needsRefresh(held, 2 * hour)).toBe(true);
    const long = { token: 't', issuedAtMs: 0, expiresAtMs: 100 * hour };
    expect(needsRefresh(long, 24 * hour)).toBe(false);
    expect(needsRefresh(long, 24 * hour + 1)).toBe(true);
  });

  /** A cloud that issues numbered tokens, or is unreachable. */
  class Issuer {
    online = true;
    issued: TokenRequestContent[] = [];
    constructor(private readonly clock: { now: number }) {}
    async serviceAccountToken(_namespace: string, _pod: string, request: TokenRequestContent): Promise<TokenAnswer> {
      if (!this.online) throw new Error('the cloud link is down');
      this.issued.push(request);
      return { token: `token-${this.issued.length}`, expirationTimestamp: new Date(this.clock.now + request.expirationSeconds * 1000).toISOString() };
    }
  }

  it('asks for the pod\'s own ServiceAccount bound to the pod, keeps the token 0600 for an offline restart, refreshes it in the volume atomically, and forgets it with the pod', async () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const issuer = new Issuer(clock);
    const dir = join(tempDir(), 'pod-tokens');
    const tokens = new ServiceAccountTokens({ issuer, dir, logger: silent, now: () => clock.now });
    const projection = { path: 'token', expirationSeconds: 3607 };
    expect(await tokens.tokenFor(pod(), projection)).toBe('token-1');
    expect(issuer.issued[0]).toEqual({ podUID: 'uid-meter', serviceAccountName: 'reader', expirationSeconds: 3607 });
    expect(await tokens.tokenFor(pod(), projection)).toBe('token-1');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(dir);
    expect(statSync(join(dir, file ?? '')).mode & 0o777).toBe(0o600);

    // edgecore restarts offline: the held token is mounted while it is valid
    issuer.online = false;
    const restarted = new ServiceAccountTokens({ issuer, dir, logger: silent, now: () => clock.now });
    clock.now += 0.9 * 3607_000;
    expect(await restarted.tokenFor(pod(), projection)).toBe('token-1');
    clock.now += 0.2 * 3607_000;
    await expect(restarted.tokenFor(pod(), projection)).rejects.toBeInstanceOf(PodSetupError);

    // back online: the due token is refreshed and rewritten in the pod's volume
    issuer.online = true;
    const volume = join(tempDir(), 'kube-api-access-abcde');
    mkdirSync(volume);
    writeFileSync(join(volume, 'token'), 'token-1', { mode: 0o644 });
    restarted.track(pod(), volume, projection);
    await restarted.refresh();
    expect(readFileSync(join(volume, 'token'), 'utf8')).toBe('token-2');
    expect(statSync(join(volume, 'token')).mode & 0o777).toBe(0o644);
    expect(readdirSync(volume)).toEqual(['token']);
    restarted.forget('uid-meter');
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });
});
