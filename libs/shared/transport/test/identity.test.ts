import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityError } from '../src/errors';
import { commonNameOf, isValidNodeName, nodeIdentityOf, nodeNameFromCommonName } from '../src/identity';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';

describe('identity', () => {
  let certs: TestCertificates;
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());

  it('identity - a system:node CN yields the node name', () => {
    expect(nodeNameFromCommonName('system:node:node-a')).toBe('node-a');
    expect(nodeNameFromCommonName('system:node:edge-1.factory.example')).toBe('edge-1.factory.example');
    expect(nodeNameFromCommonName(`system:node:${'a'.repeat(253)}`)).toHaveLength(253);
  });

  it.each([
    ['kedgeadm', 'no prefix'],
    ['system:node:', 'empty name'],
    ['system:node:Node-A', 'uppercase'],
    ['system:node:-edge', 'leading dash'],
    ['system:node:edge.', 'trailing dot'],
    ['system:node:edge_1', 'underscore'],
    ['system:node:a/b', 'slash'],
    [`system:node:${'a'.repeat(254)}`, 'longer than 253'],
    ['system:nodes:edge', 'wrong prefix'],
    ['System:Node:edge', 'prefix case'],
  ])('identity - CN %j is refused (%s)', (commonName) => {
    expect(() => nodeNameFromCommonName(commonName)).toThrow(IdentityError);
  });

  it('identity - the error names the CN and the expected form', () => {
    const error = (() => {
      try {
        nodeNameFromCommonName('kedgeadm');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(IdentityError);
    expect((error as IdentityError).name).toBe('IdentityError');
    expect((error as IdentityError).commonName).toBe('kedgeadm');
    expect((error as Error).message).toContain('system:node:<node-name>');
  });

  it('identity - node names follow DNS-1123 subdomain rules', () => {
    expect(isValidNodeName('node-a')).toBe(true);
    expect(isValidNodeName('a.b-c.d')).toBe(true);
    expect(isValidNodeName('')).toBe(false);
    expect(isValidNodeName('a..b')).toBe(false);
  });

  it('identity - reads the node from real certificates', () => {
    const nodeA = new X509Certificate(certs.nodeA.cert);
    expect(nodeIdentityOf(nodeA)).toEqual({
      nodeName: 'node-a',
      commonName: 'system:node:node-a',
      serialNumber: nodeA.serialNumber.toLowerCase(),
      notBefore: new Date(nodeA.validFrom),
    });
    expect(commonNameOf(new X509Certificate(certs.server.cert))).toBe('cloudcore');
    expect(() => nodeIdentityOf(new X509Certificate(certs.nonNode.cert))).toThrow(IdentityError);
  });
});
