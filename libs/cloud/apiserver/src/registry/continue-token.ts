// `continue` tokens: the revision the first page was read at and the last key returned, base64 so
// clients treat them as opaque. A token whose revision was compacted away answers 410 Expired.
import { badRequest } from '@kedge/kube-core';

export interface ContinuePosition {
  revision: number;
  lastKey: string;
}

export function encodeContinueToken(position: ContinuePosition): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: position.revision, start: position.lastKey })).toString('base64url');
}

export function decodeContinueToken(token: string, prefix: string): ContinuePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: the token is not base64-encoded JSON');
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const revision = record['rv'];
  const lastKey = record['start'];
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision <= 0 || typeof lastKey !== 'string') {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (!lastKey.startsWith(prefix)) throw badRequest('continue key is not valid: the token belongs to another list');
  return { revision, lastKey };
}

export const EXPIRED_CONTINUE_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';
