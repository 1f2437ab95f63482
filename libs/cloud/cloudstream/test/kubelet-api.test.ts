// The kubelet API's parts on their own: kubelet paths and the subresource they are authorized as, the
// query as kube-apiserver sends it, per-node ports on real loopback sockets, and the review cache.
// The whole server with a real API server, kubectl and containerd is in tools/e2e/kubelet-api.test.ts.
import { connect, createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KubeletAuth, KubeletRequestError, authorizationSubresource, authorizationVerb, parseKubeletPath, type KubeletAuthBackend, type KubeletCaller } from '../src/index';
import { logQuery, processQuery } from '../src/kubelet-api/kubelet-query';
import { NodePorts, PortRangeExhaustedError } from '../src/kubelet-api/node-ports';

describe('kubelet API - paths', () => {
  it('parses the paths kube-apiserver and metrics-server call', () => {
    expect(parseKubeletPath('/containerLogs/default/web/app')).toEqual({ kind: 'containerLogs', namespace: 'default', pod: 'web', container: 'app' });
    expect(parseKubeletPath('/exec/default/web/app')).toEqual({ kind: 'exec', namespace: 'default', pod: 'web', container: 'app' });
    expect(parseKubeletPath('/exec/default/web/uid-1/app')).toEqual({ kind: 'exec', namespace: 'default', pod: 'web', uid: 'uid-1', container: 'app' });
    expect(parseKubeletPath('/attach/kube-system/dns/main')).toEqual({ kind: 'attach', namespace: 'kube-system', pod: 'dns', container: 'main' });
    expect(parseKubeletPath('/portForward/default/web')).toEqual({ kind: 'portForward', namespace: 'default', pod: 'web' });
    expect(parseKubeletPath('/portForward/default/web/uid-1')).toEqual({ kind: 'portForward', namespace: 'default', pod: 'web', uid: 'uid-1' });
    expect(parseKubeletPath('/stats/summary')).toEqual({ kind: 'statsSummary' });
    expect(parseKubeletPath('/metrics/resource')).toEqual({ kind: 'metricsResource' });
    expect(parseKubeletPath('/pods')).toEqual({ kind: 'pods' });
    expect(parseKubeletPath('/healthz')).toEqual({ kind: 'healthz' });
  });

  it('answers 404 for what it does not serve and 400 for broken encoding', () => {
    for (const path of ['/', '/containerLogs/default/web', '/exec/a/b/c/d/e', '/metrics', '/stats', '/configz', '/run/default/web/app', '/logs/']) {
      const error = (() => {
        try {
          parseKubeletPath(path);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, path).toBeInstanceOf(KubeletRequestError);
      expect((error as KubeletRequestError).code, path).toBe(404);
    }
    expect(() => parseKubeletPath('/containerLogs/%zz/web/app')).toThrow(/not valid percent-encoding/);
  });

  it('authorizes as a kubelet: stats, metrics, log by prefix, everything else proxy; the verb from the method', () => {
    expect(authorizationSubresource('/stats/summary')).toBe('stats');
    expect(authorizationSubresource('/stats')).toBe('stats');
    expect(authorizationSubresource('/metrics/resource')).toBe('metrics');
    expect(authorizationSubresource('/logs/syslog')).toBe('log');
    for (const path of ['/containerLogs/a/b/c', '/exec/a/b/c', '/attach/a/b/c', '/portForward/a/b', '/pods', '/healthz', '/statsX', '/metricsfoo']) {
      expect(authorizationSubresource(path), path).toBe('proxy');
    }
    expect(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'].map(authorizationVerb)).toEqual(['get', 'create', 'update', 'patch', 'delete', 'get']);
  });
});

describe('kubelet API - query', () => {
  it('reads log options with Go boolean spellings and passes the container from the path', () => {
    const query = logQuery(new URLSearchParams('follow=1&previous=false&timestamps=True&tailLines=10&limitBytes=500'), 'app');
    expect(Object.fromEntries(query)).toEqual({ container: 'app', follow: 'true', previous: 'false', timestamps: 'true', tailLines: '10', limitBytes: '500' });
    expect(logQuery(new URLSearchParams('follow'), 'app').get('follow')).toBe('true');
  });

  it('refuses bad log options naming the parameter', () => {
    expect(() => logQuery(new URLSearchParams('tailLines=ten'), 'app')).toThrow('query parameter tailLines: "ten" is not a non-negative integer');
    expect(() => logQuery(new URLSearchParams('limitBytes=-1'), 'app')).toThrow('query parameter limitBytes');
    expect(() => logQuery(new URLSearchParams('follow=yes'), 'app')).toThrow('query parameter follow: "yes" is not a boolean');
  });

  it('passes sinceSeconds and sinceTime as kube-apiserver sends them, and refuses what the kubelet refuses', () => {
    expect(Object.fromEntries(logQuery(new URLSearchParams('sinceSeconds=60&tailLines=3'), 'app'))).toMatchObject({ sinceSeconds: '60', tailLines: '3' });
    expect(logQuery(new URLSearchParams('sinceTime=2026-01-01T00%3A00%3A00Z'), 'app').get('sinceTime')).toBe('2026-01-01T00:00:00Z');
    expect(logQuery(new URLSearchParams('sinceTime=2026-01-01T02%3A00%3A00%2B02%3A00'), 'app').get('sinceTime')).toBe('2026-01-01T02:00:00+02:00');
    expect(() => logQuery(new URLSearchParams('sinceTime=yesterday'), 'app')).toThrow('query parameter sinceTime: "yesterday" is not an RFC 3339 time');
    expect(() => logQuery(new URLSearchParams('sinceSeconds=-5'), 'app')).toThrow('query parameter sinceSeconds');
    expect(() => logQuery(new URLSearchParams('sinceSeconds=0'), 'app')).toThrow(expect.objectContaining({ code: 422, message: expect.stringContaining('must be greater than 0') }));
    expect(() => logQuery(new URLSearchParams('sinceSeconds=5&sinceTime=2026-01-01T00%3A00%3A00Z'), 'app')).toThrow(expect.objectContaining({ code: 422, message: expect.stringContaining('at most one of') }));
  });

  it('reads exec streams from input/output/error (kube-apiserver) or stdin/stdout/stderr, and keeps every command word', () => {
    const exec = processQuery(new URLSearchParams('command=sh&command=-c&command=echo%20hi&input=1&output=1&tty=1'), 'app', 'exec');
    expect(exec.getAll('command')).toEqual(['sh', '-c', 'echo hi']);
    expect([exec.get('stdin'), exec.get('stdout'), exec.get('stderr'), exec.get('tty')]).toEqual(['true', 'true', 'false', 'true']);
    const attach = processQuery(new URLSearchParams('stdout=true&stderr=true&command=ignored'), 'main', 'attach');
    expect([attach.get('stdin'), attach.get('stdout'), attach.get('stderr'), attach.getAll('command')]).toEqual(['false', 'true', 'true', []]);
    expect(attach.get('container')).toBe('main');
  });
});

function occupy(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('kubelet API - node ports', () => {
  const start = 30_000 + Math.floor(Math.random() * 20_000);

  it('gives each node its own port, the preferred one when free, skips ports other processes hold, and frees them again', async () => {
    const seen: string[] = [];
    const ports = new NodePorts({ bindAddress: '127.0.0.1', rangeStart: start, rangeSize: 5, onConnection: (socket, node) => (seen.push(node), socket.destroy()) });
    const held = await occupy(start);
    try {
      const [a, b] = await Promise.all([ports.allocate('gw-a'), ports.allocate('gw-b')]);
      expect(new Set([a, b]).size).toBe(2);
      if (held !== undefined) expect([a, b]).not.toContain(start);
      expect(await ports.allocate('gw-a')).toBe(a);
      expect(await ports.allocate('gw-c', start + 4)).toBe(start + 4);
      expect(ports.nodeOfPort(start + 4)).toBe('gw-c');
      // a connection to a port is told which node it is for
      await new Promise<void>((resolve, reject) => {
        connect(b, '127.0.0.1').on('close', () => resolve()).on('error', reject);
      });
      expect(seen).toEqual(['gw-b']);
      await ports.release('gw-c');
      expect(ports.portOf('gw-c')).toBeUndefined();
      expect(ports.nodeOfPort(start + 4)).toBeUndefined();
      // its port is free for another node
      expect(await ports.allocate('gw-d', start + 4)).toBe(start + 4);
    } finally {
      await ports.close();
      held?.close();
    }
  });

  it('attack - a connection open on a released port is ended, so it never speaks for the next node given that port', async () => {
    const kept: string[] = [];
    // the server keeps every socket, as the HTTPS server keeps a keep-alive connection
    const ports = new NodePorts({ bindAddress: '127.0.0.1', rangeStart: start + 20, rangeSize: 1, onConnection: (_socket, node) => void kept.push(node) });
    try {
      const port = await ports.allocate('gw-gone');
      const lingering = connect(port, '127.0.0.1');
      const lingeringClosed = new Promise<void>((resolve) => lingering.on('close', () => resolve()).on('error', () => undefined));
      const deadline = Date.now() + 20_000;
      while (kept.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(kept).toEqual(['gw-gone']);
      await ports.release('gw-gone');
      await lingeringClosed;
      expect(await ports.allocate('gw-next')).toBe(port);
    } finally {
      await ports.close();
    }
  });

  it('says which range ran out', async () => {
    const ports = new NodePorts({ bindAddress: '127.0.0.1', rangeStart: start + 10, rangeSize: 1, onConnection: (socket) => socket.destroy() });
    try {
      await ports.allocate('gw-a');
      await expect(ports.allocate('gw-b')).rejects.toThrow(PortRangeExhaustedError);
      await expect(ports.allocate('gw-b')).rejects.toThrow(`no free kubelet API port for edge node "gw-b" in ${start + 10}-${start + 10}`);
    } finally {
      await ports.close();
    }
    expect(() => new NodePorts({ bindAddress: '127.0.0.1', rangeStart: 65_000, rangeSize: 1000, onConnection: () => undefined })).toThrow(RangeError);
  });
});

/** Reviews answered from fixed data, counted, as the cluster would answer them. */
function fixedBackend(): KubeletAuthBackend & { calls: string[] } {
  const calls: string[] = [];
  const users: Record<string, KubeletCaller> = { 'token-ops': { name: 'ops', groups: ['operators'], via: 'token' } };
  return {
    calls,
    reviewToken: async (token) => {
      calls.push(`token:${token}`);
      return users[token];
    },
    reviewAccess: async (caller, access) => {
      calls.push(`access:${caller.name}:${access.verb}:${access.subresource}:${access.node}`);
      return access.subresource === 'stats' ? { allowed: true } : { allowed: false, reason: 'no RBAC rule' };
    },
  };
}

function requestWith(authorization?: string) {
  return { headers: authorization === undefined ? {} : { authorization }, socket: {} } as never;
}

describe('kubelet API - authentication and authorization', () => {
  it('checks a token once within the cache time, and again after it', async () => {
    let now = 1_000;
    const backend = fixedBackend();
    const auth = new KubeletAuth({ backend, now: () => now, allowedTtlMs: 10_000, deniedTtlMs: 2_000 });
    expect(await auth.authenticate(requestWith('Bearer token-ops'))).toEqual({ name: 'ops', groups: ['operators'], via: 'token' });
    await auth.authenticate(requestWith('Bearer token-ops'));
    expect(backend.calls).toEqual(['token:token-ops']);
    now += 10_001;
    await auth.authenticate(requestWith('Bearer token-ops'));
    expect(backend.calls).toEqual(['token:token-ops', 'token:token-ops']);
  });

  it('attack - no credentials and unknown tokens are 401, refusals name user, verb, subresource and node', async () => {
    const backend = fixedBackend();
    const auth = new KubeletAuth({ backend });
    await expect(auth.authenticate(requestWith())).rejects.toMatchObject({ code: 401, reason: 'no-credentials' });
    await expect(auth.authenticate(requestWith('Basic b3BzOnB3'))).rejects.toMatchObject({ code: 401, reason: 'no-credentials' });
    await expect(auth.authenticate(requestWith('Bearer guessed'))).rejects.toMatchObject({ code: 401, reason: 'bad-token' });
    const ops = await auth.authenticate(requestWith('Bearer token-ops'));
    await auth.authorize(ops, { verb: 'get', subresource: 'stats', node: 'gw-1' });
    await expect(auth.authorize(ops, { verb: 'create', subresource: 'proxy', node: 'gw-1' })).rejects.toMatchObject({
      code: 403,
      reason: 'forbidden',
      message: 'Forbidden (user=ops, verb=create, resource=nodes, subresource=proxy, node=gw-1): no RBAC rule',
    });
    // a decision is per node: stats of gw-2 is asked again
    await auth.authorize(ops, { verb: 'get', subresource: 'stats', node: 'gw-2' });
    expect(backend.calls.filter((c) => c.startsWith('access:'))).toEqual(['access:ops:get:stats:gw-1', 'access:ops:create:proxy:gw-1', 'access:ops:get:stats:gw-2']);
  });

  it('a failing review is 503, not an open door', async () => {
    const auth = new KubeletAuth({
      backend: {
        reviewToken: async () => {
          throw new Error('connect ECONNREFUSED');
        },
        reviewAccess: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      },
    });
    await expect(auth.authenticate(requestWith('Bearer anything'))).rejects.toMatchObject({ code: 503, reason: 'auth-unavailable' });
    await expect(auth.authorize({ name: 'x', groups: [], via: 'certificate' }, { verb: 'get', subresource: 'proxy', node: 'n' })).rejects.toMatchObject({ code: 503 });
  });
});
