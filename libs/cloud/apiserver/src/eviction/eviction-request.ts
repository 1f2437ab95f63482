// An Eviction body (policy/v1 or policy/v1beta1, JSON, YAML or protobuf) read into what the eviction
// needs: the pod it names and the DeleteOptions to delete it with, dry run merged from the query as
// upstream's propagateDryRun does.
import { badRequest, isRecord, type KubeObject } from '@kedge/kube-core';

/** The Eviction versions the pods/eviction subresource accepts, as upstream's AcceptsGroupVersion. */
export const EVICTION_API_VERSIONS = ['policy/v1', 'policy/v1beta1'] as const;

export interface EvictionRequest {
  /** the Eviction's deleteOptions (undefined: none given), for the caller to resolve with the delete rules */
  deleteOptions: Record<string, unknown> | undefined;
  /** whether the query (CreateOptions) and the body's deleteOptions ask for a dry run */
  dryRunValues: string[];
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

/**
 * Checks the Eviction against the URL (kind, version, name, namespace) and merges the dry run of the
 * query into its deleteOptions; `queryDryRun` are the CreateOptions' dryRun values.
 */
export function readEvictionRequest(body: KubeObject, podName: string, namespace: string, queryDryRun: readonly string[]): EvictionRequest {
  if (body.kind !== undefined && body.kind !== 'Eviction') {
    throw badRequest(`the body of pods/eviction must be an Eviction (${EVICTION_API_VERSIONS.join(' or ')}), not ${String(body.kind)}`);
  }
  if (body.apiVersion !== undefined && !(EVICTION_API_VERSIONS as readonly string[]).includes(body.apiVersion)) {
    throw badRequest(`Eviction in version "${body.apiVersion}" cannot be handled: pods/eviction accepts ${EVICTION_API_VERSIONS.join(' and ')}`);
  }
  if (body.metadata.name !== podName) throw badRequest('name in URL does not match name in Eviction object');
  if (body.metadata.namespace !== undefined && body.metadata.namespace !== '' && body.metadata.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const raw = body['deleteOptions'];
  if (raw !== undefined && raw !== null && !isRecord(raw)) throw badRequest('Eviction.deleteOptions must be a DeleteOptions object');
  const deleteOptions = raw === undefined || raw === null ? undefined : { ...raw };
  const bodyDryRun = deleteOptions?.['dryRun'];
  if (bodyDryRun !== undefined && bodyDryRun !== null && !(Array.isArray(bodyDryRun) && bodyDryRun.every((value) => typeof value === 'string'))) {
    throw badRequest('Eviction.deleteOptions.dryRun: expected a list of strings');
  }
  const fromBody = (bodyDryRun as string[] | null | undefined) ?? [];
  // propagateDryRun: either side may ask; both asking differently is refused (upstream answers 500 here)
  if (fromBody.length > 0 && queryDryRun.length > 0 && !sameValues(fromBody, queryDryRun)) {
    throw badRequest(`Non-matching dry-run options in request and content: [${queryDryRun.join(' ')}] and [${fromBody.join(' ')}]`);
  }
  const dryRunValues = fromBody.length > 0 ? fromBody : [...queryDryRun];
  if (deleteOptions !== undefined) delete deleteOptions['dryRun'];
  return { deleteOptions, dryRunValues };
}
