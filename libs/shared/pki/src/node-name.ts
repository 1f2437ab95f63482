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
