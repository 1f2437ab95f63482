// edgecore's config file: defaults, and bad values named by field.
import { ConfigError, parseConfigText } from '@kedge/config';
import { describe, expect, it } from 'vitest';
import { containerRuntimeSocket, edgeCoreConfigSchema, type EdgeCoreConfigInput } from '../src/index';

const parse = (input: EdgeCoreConfigInput) => parseConfigText(JSON.stringify(input), edgeCoreConfigSchema, 'edgecore.yaml');

describe('edgecore config - edged', () => {
  it('defaults to pods on, at the standard containerd socket, under <dataDir>/pods', () => {
    expect(parse({ nodeName: 'gw-1' }).edged).toEqual({
      enable: true,
      containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
      // secure by default: nothing that gives a pod the host
      podSecurity: { allowPrivileged: false, allowHostNetwork: false, allowedHostPaths: [] },
      imageGC: { enable: true, highThresholdPercent: 85, lowThresholdPercent: 80, minimumAgeSeconds: 120, periodSeconds: 300 },
    });
  });

  it('refuses a relative or ".." hostPath allowlist entry, naming the field', () => {
    const allow = (paths: unknown[]) => () => parseConfigText(JSON.stringify({ nodeName: 'gw-1', edged: { podSecurity: { allowedHostPaths: paths } } }), edgeCoreConfigSchema, 'edgecore.yaml');
    expect(allow(['data'])).toThrow(/field "edged\.podSecurity\.allowedHostPaths\.0": expected an absolute directory/);
    expect(allow(['/var/lib/app/../..'])).toThrow(/field "edged\.podSecurity\.allowedHostPaths\.0": expected a path without '\.\.'/);
    expect(allow(['/var/lib/app-data'])).not.toThrow();
  });

  it('refuses image GC thresholds that are out of range or in the wrong order, naming the field', () => {
    const imageGC = (gc: Record<string, unknown>) => () => parseConfigText(JSON.stringify({ nodeName: 'gw-1', edged: { imageGC: gc } }), edgeCoreConfigSchema, 'edgecore.yaml');
    expect(imageGC({ highThresholdPercent: 80, lowThresholdPercent: 80 })).toThrow(
      /field "edged\.imageGC\.lowThresholdPercent": expected below highThresholdPercent \(80\), got 80/,
    );
    expect(imageGC({ highThresholdPercent: 101 })).toThrow(/field "edged\.imageGC\.highThresholdPercent"/);
    expect(imageGC({ minimumAgeSeconds: -1 })).toThrow(/field "edged\.imageGC\.minimumAgeSeconds"/);
    expect(imageGC({ periodSeconds: 0 })).toThrow(/field "edged\.imageGC\.periodSeconds"/);
    expect(imageGC({ highThreshold: 90 })).toThrow(/field "edged\.imageGC": unknown field "highThreshold"/);
  });

  it('gives the runtime socket path with or without the unix:// scheme', () => {
    expect(containerRuntimeSocket(parse({ nodeName: 'gw-1' }))).toBe('/run/containerd/containerd.sock');
    expect(containerRuntimeSocket(parse({ nodeName: 'gw-1', edged: { containerRuntimeEndpoint: '/tmp/c.sock' } }))).toBe('/tmp/c.sock');
    expect(() => parse({ nodeName: 'gw-1', edged: { containerRuntimeEndpoint: 'tcp://1.2.3.4:10' } })).toThrow(/field "edged\.containerRuntimeEndpoint": expected a unix socket/);
  });
});

describe('edgecore config - identity and link', () => {
  it('takes what kedgeadm join writes and fills in the rest', () => {
    const config = parse({
      apiVersion: 'kedge.io/v1alpha1',
      kind: 'EdgeCore',
      nodeName: 'gateway-01',
      dataDir: '/var/lib/kedge/edgecore',
      edgeHub: { protocol: 'quic', server: '10.0.0.5:10000', quicServer: '10.0.0.5:10001', httpServer: 'https://10.0.0.5:10002' },
      labels: { site: 'plant-7' },
      edged: { containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock' },
    });
    expect(config.edgeHub).toMatchObject({ protocol: 'quic', server: '10.0.0.5:10000', heartbeatSeconds: 15 });
    expect(config.eventBus).toMatchObject({ enable: true, mode: 'internal', internal: { address: '127.0.0.1', port: 1883 } });
  });

  it('refuses a node name that is not DNS-1123 and a misspelt section, naming each field', () => {
    let error: unknown;
    try {
      parseConfigText('nodeName: Gateway_01\nedgehub: {}\n', edgeCoreConfigSchema, 'edgecore.yaml');
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.field).sort()).toEqual(['', 'nodeName']);
    expect((error as Error).message).toMatch(/unknown field "edgehub"/);
  });
});

describe('threat - gateway local services in edgecore.yaml', () => {
  const load = (input: Record<string, unknown>) => () => parseConfigText(JSON.stringify({ nodeName: 'gw-1', ...input }), edgeCoreConfigSchema, 'edgecore.yaml');

  it('attack - an internal MQTT listener beyond loopback without users is refused, naming eventBus.internal.users', () => {
    for (const address of ['0.0.0.0', '192.168.1.20', '::']) {
      expect(load({ eventBus: { internal: { address } } }), address).toThrow(/field "eventBus\.internal\.users": the internal broker would listen on .* without authentication/);
    }
    const withUsers = load({ eventBus: { internal: { address: '0.0.0.0', users: [{ username: 'hmi', passwordFile: '/etc/kedge/mqtt/hmi.password', publish: ['app/#'], subscribe: ['app/#'] }] } } })();
    expect(withUsers.eventBus.internal.users).toHaveLength(1);
  });

  it('attack - MQTT credentials in the external broker URL are refused; passwords come from a file', () => {
    expect(load({ eventBus: { mode: 'external', external: { url: 'mqtt://admin:secret@broker:1883' } } })).toThrow(/field "eventBus\.external\.url": must not carry a username or password/);
    expect(load({ eventBus: { internal: { users: [{ username: 'u', password: 'inline', publish: [], subscribe: [] }] } } })).toThrow(/unknown field "password"/);
    expect(load({ eventBus: { internal: { users: [{ username: 'u', passwordFile: '/p', publish: ['a/#/b'], subscribe: [] }] } } })).toThrow(/eventBus\.internal\.users\.0\.publish\.0|MQTT topic filter/);
  });

  it('defaults: loopback broker, anonymous device contract without deltas or #, MetaServer with no extra hosts', () => {
    const config = load({})();
    expect(config.eventBus.internal.address).toBe('127.0.0.1');
    expect(config.eventBus.internal.anonymous.enable).toBe(true);
    expect(config.eventBus.internal.anonymous.subscribe).toEqual(['$hw/events/#']);
    expect(config.eventBus.internal.anonymous.publish.some((filter) => filter.endsWith('/delta') || filter.startsWith('$hw/events/#'))).toBe(false);
    expect(config.metaServer).toEqual({ enable: true, address: '127.0.0.1', port: 10550, allowedHosts: [], podAccess: { enable: true, address: '', port: 10551 } });
  });

  it('metaServer.podAccess: an address and port for the pod listener, or off; anything else is refused naming the field', () => {
    expect(load({ metaServer: { podAccess: { address: '10.0.0.7', port: 6443 } } })().metaServer.podAccess).toEqual({ enable: true, address: '10.0.0.7', port: 6443 });
    expect(load({ metaServer: { podAccess: { enable: false } } })().metaServer.podAccess.enable).toBe(false);
    expect(() => load({ metaServer: { podAccess: { address: 'gateway.local' } } })()).toThrow(/metaServer\.podAccess\.address/);
    expect(() => load({ metaServer: { podAccess: { port: 70000 } } })()).toThrow(/metaServer\.podAccess\.port/);
  });
});
