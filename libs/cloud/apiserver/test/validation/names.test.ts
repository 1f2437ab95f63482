import { describe, expect, it } from 'vitest';
import {
  isCIDR,
  isDns1035Label,
  isDns1123Label,
  isDns1123Subdomain,
  isIP,
  isQualifiedName,
  isValidLabelValue,
} from '../../src/validation/index';

describe('validation - names', () => {
  it('names - DNS-1123 subdomains and labels', () => {
    expect(isDns1123Subdomain('example.com')).toBe(true);
    expect(isDns1123Subdomain('a'.repeat(253))).toBe(true);
    expect(isDns1123Subdomain('a'.repeat(254))).toBe(false);
    expect(isDns1123Subdomain('Example.com')).toBe(false);
    expect(isDns1123Subdomain('-a')).toBe(false);
    expect(isDns1123Label('my-name')).toBe(true);
    expect(isDns1123Label('123-abc')).toBe(true);
    expect(isDns1123Label('a.b')).toBe(false);
    expect(isDns1123Label('a'.repeat(64))).toBe(false);
    expect(isDns1035Label('123-abc')).toBe(false);
    expect(isDns1035Label('abc-123')).toBe(true);
  });

  it('names - qualified names and label values', () => {
    expect(isQualifiedName('app')).toBe(true);
    expect(isQualifiedName('app.kubernetes.io/name')).toBe(true);
    expect(isQualifiedName('a/b/c')).toBe(false);
    expect(isQualifiedName('/name')).toBe(false);
    expect(isQualifiedName('Example.com/name')).toBe(false);
    expect(isQualifiedName('x'.repeat(64))).toBe(false);
    expect(isValidLabelValue('')).toBe(true);
    expect(isValidLabelValue('My_Value.1')).toBe(true);
    expect(isValidLabelValue('-bad')).toBe(false);
    expect(isValidLabelValue('v'.repeat(64))).toBe(false);
  });

  it('names - IP and CIDR', () => {
    expect(isIP('10.0.0.1')).toBe(true);
    expect(isIP('fd00::1')).toBe(true);
    expect(isIP('256.0.0.1')).toBe(false);
    expect(isIP('nope')).toBe(false);
    expect(isCIDR('10.244.0.0/24')).toBe(true);
    expect(isCIDR('10.244.0.0/33')).toBe(false);
  });
});
