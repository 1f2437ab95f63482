// Pure parts of the server: request paths and version order.
import { describe, expect, it } from 'vitest';
import { StatusError } from '@kedge/kube-core';
import { parseRequestPath } from '../src/routing';
import { compareVersions } from '../src/resources';

describe('request paths', () => {
  it('resolves resource paths like the RequestInfoFactory', () => {
    expect(parseRequestPath('/api/v1/namespaces/default/pods/web/log')).toMatchObject({ kind: 'resource', group: '', version: 'v1', namespace: 'default', resource: 'pods', name: 'web', subresource: 'log' });
    expect(parseRequestPath('/api/v1/namespaces/demo')).toMatchObject({ resource: 'namespaces', name: 'demo', namespace: undefined });
    expect(parseRequestPath('/api/v1/namespaces/demo/finalize')).toMatchObject({ resource: 'namespaces', name: 'demo', subresource: 'finalize' });
    expect(parseRequestPath('/apis/example.com/v1/watch/namespaces/a/widgets')).toMatchObject({ group: 'example.com', resource: 'widgets', namespace: 'a', watchPath: true });
    expect(parseRequestPath('/apis/example.com')).toEqual({ kind: 'group', group: 'example.com' });
    expect(parseRequestPath('/openapi/v3/apis/example.com/v1')).toEqual({ kind: 'openapiV3', group: 'example.com', version: 'v1' });
    expect(() => parseRequestPath('/api/v1/namespaces/a/pods/b/c/d')).toThrow(StatusError);
    expect(() => parseRequestPath('/api/v1/pods/%zz')).toThrow(StatusError);
  });
});

describe('versions', () => {
  it('orders versions as Kubernetes prefers them', () => {
    expect(['v1alpha1', 'v1beta1', 'foo', 'v2', 'v1', 'v1beta2', 'v10beta1'].sort(compareVersions)).toEqual([
      'v2', 'v1', 'v10beta1', 'v1beta2', 'v1beta1', 'v1alpha1', 'foo',
    ]);
  });
});
