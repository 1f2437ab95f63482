import { describe, expect, it } from 'vitest';
import {
  CLUSTER_SCOPED_NAMESPACE,
  ResourceType,
  formatCloudResource,
  formatEdgeResource,
  parseCloudResource,
  parseEdgeResource,
  toCloudResource,
  toEdgeResource,
  splitCloudResource,
} from '../src/index';
import { expectProtocolError } from './helpers';

describe('resource - edge form', () => {
  it('resource - parses namespace, type and name', () => {
    expect(parseEdgeResource('default/pod/web-0')).toEqual({ namespace: 'default', type: 'pod', name: 'web-0' });
  });

  it('resource - parses a key without name and leaves name absent', () => {
    const parsed = parseEdgeResource('kube-system/configmap');
    expect(parsed).toEqual({ namespace: 'kube-system', type: 'configmap' });
    expect(parsed).not.toHaveProperty('name');
  });

  it('resource - parses cluster-scoped keys with the null namespace', () => {
    expect(parseEdgeResource(`${CLUSTER_SCOPED_NAMESPACE}/${ResourceType.NodeStatus}/edge-1`)).toEqual({
      namespace: 'null',
      type: 'nodestatus',
      name: 'edge-1',
    });
  });

  it('resource - formats what it parses', () => {
    for (const key of ['default/pod/web-0', 'null/node/edge-1.example.com', 'ns1/devicemodel', 'a/twin/b']) {
      expect(formatEdgeResource(parseEdgeResource(key))).toBe(key);
    }
  });

  const invalid: [string, string][] = [
    ['', 'resource'],
    ['default', 'resource'],
    ['default/pod/web/extra', 'resource'],
    ['Default/pod/web', 'namespace'],
    ['/pod/web', 'namespace'],
    ['default/Pod/web', 'type'],
    ['default/pod-status/web', 'type'],
    ['default//web', 'type'],
    ['default/pod/', 'name'],
    ['default/pod/web_0', 'name'],
    ['default/pod/-web', 'name'],
    ['default/pod/web.', 'name'],
    ['default/pod/web..0', 'name'],
    [`default/pod/${'a'.repeat(254)}`, 'name'],
    ['default/pod/../../etc', 'resource'],
  ];

  it.each(invalid)('resource - refuses edge key %j naming the %s', (key, field) => {
    const error = expectProtocolError(() => parseEdgeResource(key), 'INVALID_RESOURCE', field);
    expect(error.message).toContain('resource');
  });

  it('resource - accepts a name of exactly 253 characters', () => {
    const name = `${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(61);
    expect(name).toHaveLength(253);
    expect(parseEdgeResource(`default/pod/${name}`).name).toBe(name);
  });

  it('resource - refuses to format segments that would not parse back', () => {
    expectProtocolError(() => formatEdgeResource({ namespace: 'default', type: 'pod', name: 'a/b' }), 'INVALID_RESOURCE', 'name');
    expectProtocolError(() => formatEdgeResource({ namespace: '', type: 'pod' }), 'INVALID_RESOURCE', 'namespace');
  });

  it('resource - refuses a non-string key', () => {
    expectProtocolError(() => parseEdgeResource(42 as unknown as string), 'INVALID_RESOURCE', 'resource');
  });
});

describe('resource - cloud form', () => {
  it('resource - parses node, namespace, type and name', () => {
    expect(parseCloudResource('node/edge-1/default/pod/web-0')).toEqual({ node: 'edge-1', namespace: 'default', type: 'pod', name: 'web-0' });
    expect(parseCloudResource('node/edge-1/default/pod')).toEqual({ node: 'edge-1', namespace: 'default', type: 'pod' });
  });

  it('resource - formats what it parses', () => {
    const key = 'node/edge-1/null/lease/edge-1';
    expect(formatCloudResource(parseCloudResource(key))).toBe(key);
  });

  it('resource - refuses keys without the node prefix or with a bad node', () => {
    expectProtocolError(() => parseCloudResource('nodes/edge-1/default/pod/x'), 'INVALID_RESOURCE', 'resource');
    expectProtocolError(() => parseCloudResource('default/pod/x'), 'INVALID_RESOURCE', 'resource');
    expectProtocolError(() => parseCloudResource('node/Edge_1/default/pod/x'), 'INVALID_RESOURCE', 'node');
    expectProtocolError(() => formatCloudResource({ node: 'a/b', namespace: 'default', type: 'pod' }), 'INVALID_RESOURCE', 'node');
  });
});

describe('resource - prefix and strip', () => {
  it('resource - toCloudResource prefixes the node of the connection', () => {
    expect(toCloudResource('edge-1', 'default/podstatus/web-0')).toBe('node/edge-1/default/podstatus/web-0');
  });

  it('resource - toCloudResource refuses an edge key that tries to name a node itself', () => {
    expectProtocolError(() => toCloudResource('edge-1', 'node/edge-2/default/pod/x'), 'INVALID_RESOURCE', 'resource');
  });

  it('resource - toCloudResource keeps a node-looking edge key scoped to the connection node', () => {
    // `node/edge-2/x` is a valid edge key (namespace "node"); the prefix still pins it to edge-1
    const cloud = toCloudResource('edge-1', 'node/edge2/x');
    expect(parseCloudResource(cloud).node).toBe('edge-1');
  });

  it('resource - toCloudResource refuses an invalid node name', () => {
    expectProtocolError(() => toCloudResource('', 'default/pod/x'), 'INVALID_RESOURCE', 'node');
  });

  it('resource - toEdgeResource strips the prefix of the expected node', () => {
    expect(toEdgeResource('node/edge-1/default/configmap/settings', 'edge-1')).toBe('default/configmap/settings');
  });

  it('resource - toEdgeResource refuses a key for another node', () => {
    const error = expectProtocolError(() => toEdgeResource('node/edge-2/default/secret/token', 'edge-1'), 'NODE_MISMATCH', 'node');
    expect(error.message).toContain('"edge-2"');
    expect(error.message).toContain('"edge-1"');
  });

  it('resource - splitCloudResource returns the node and the edge key, checking every segment', () => {
    expect(splitCloudResource('node/edge-1/default/configmap/settings')).toEqual({ node: 'edge-1', edgeResource: 'default/configmap/settings' });
    expect(splitCloudResource('node/edge-1/null/node/edge-1')).toEqual({ node: 'edge-1', edgeResource: 'null/node/edge-1' });
    expectProtocolError(() => splitCloudResource('node/edge-1/default/Pod/x'), 'INVALID_RESOURCE', 'type');
    expectProtocolError(() => splitCloudResource('node/edge-1/default/pod/x/extra'), 'INVALID_RESOURCE', 'resource');
  });

  it('resource - toEdgeResource refuses an edge-form key', () => {
    expectProtocolError(() => toEdgeResource('default/pod/x', 'edge-1'), 'INVALID_RESOURCE', 'resource');
  });

  it('resource - ResourceType lists the KubeEdge types, all valid type segments', () => {
    expect(Object.values(ResourceType).sort()).toEqual(
      ['configmap', 'device', 'devicemodel', 'endpoints', 'event', 'lease', 'membership', 'node', 'nodestatus', 'pod', 'podstatus', 'secret', 'service', 'twin'],
    );
    for (const type of Object.values(ResourceType)) expect(parseEdgeResource(`default/${type}`).type).toBe(type);
  });
});
