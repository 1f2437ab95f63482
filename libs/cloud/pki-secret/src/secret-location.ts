// Where cloudcore's PKI Secret is by default, shared by cloudcore's config and `kedgeadm token`
// so that both look in the same place without being told.
import { readFileSync } from 'node:fs';

export const DEFAULT_SECRET_NAME = 'cloudcore-pki';
export const FALLBACK_SECRET_NAMESPACE = 'kedge';
/** mounted into every pod with a service account; holds the pod's namespace */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** the namespace of the pod this runs in, or `kedge` outside a pod */
export function defaultSecretNamespace(namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE): string {
  try {
    const namespace = readFileSync(namespaceFile, 'utf8').trim();
    return namespace.length > 0 ? namespace : FALLBACK_SECRET_NAMESPACE;
  } catch {
    return FALLBACK_SECRET_NAMESPACE; // not in a pod
  }
}
