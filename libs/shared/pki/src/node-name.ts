// The identity an edge certificate carries, as Kubernetes' node authorizer expects it.
import { InvalidNodeNameError } from './errors';

export const NODE_ORGANIZATION = 'system:nodes';
export const NODE_COMMON_NAME_PREFIX = 'system:node:';

// RFC 1123 subdomain, the rule Kubernetes applies to Node names. Enforcing it here also keeps
// names safe to put in HTTP headers, file names and distinguished names.
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidNodeName(nodeName: unknown): nodeName is string {
  return typeof nodeName === 'string' && nodeName.length <= 253 && RFC1123_SUBDOMAIN.test(nodeName);
}

export function assertValidNodeName(nodeName: unknown): asserts nodeName is string {
  if (!isValidNodeName(nodeName)) throw new InvalidNodeNameError(String(nodeName));
}

export function nodeCommonName(nodeName: string): string {
  return `${NODE_COMMON_NAME_PREFIX}${nodeName}`;
}

// A batch token's name pattern: node-name characters and `*`, where each `*` stands for one or more
// lowercase letters, digits or "-" (never "."), so `shop-*` matches `shop-17` but not `shop-1.evil`.
// At least one literal character is required: a bare `*` would be the old unbound token again.
const NODE_PATTERN = /^[a-z0-9*]([-a-z0-9.*]*[a-z0-9*])?$/;
const WILDCARD_PART = '[a-z0-9-]+';

export function isValidNodePattern(pattern: unknown): pattern is string {
  return (
    typeof pattern === 'string' &&
    pattern.length <= 253 &&
    pattern.includes('*') &&
    pattern.replaceAll('*', '') !== '' &&
    NODE_PATTERN.test(pattern) &&
    isValidNodeName(pattern.replaceAll('*', 'x'))
  );
}

export function nodeNameMatchesPattern(nodeName: string, pattern: string): boolean {
  if (!isValidNodePattern(pattern) || !isValidNodeName(nodeName)) return false;
  const source = pattern
    .split('*')
    .map((literal) => literal.replaceAll('.', '\\.'))
    .join(WILDCARD_PART);
  return new RegExp(`^${source}$`).test(nodeName);
}
