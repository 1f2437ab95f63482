// The ServiceAccount admission plugin's mutation, as kube-apiserver runs it on every pod create: the pod
// gets a `kube-api-access-<random>` projected volume (a bound ServiceAccount token, the cluster CA from
// the `kube-root-ca.crt` ConfigMap, and the namespace) mounted read-only at
// /var/run/secrets/kubernetes.io/serviceaccount in every container, unless automountServiceAccountToken
// is false on the pod (or, when the pod does not say, on its ServiceAccount). Mirror pods get nothing:
// they may reference no API object.
import { randomBytes } from 'node:crypto';
import { arrayAt, isRecord, recordAt, type KubeObject } from '@kedge/kube-core';
import { MIRROR_POD_ANNOTATION } from '../resources';
import type { ResourceStore } from '../registry';
import type { ResourceType } from '../resources';

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const KUBE_API_ACCESS_PREFIX = 'kube-api-access-';
/** upstream's default: one hour plus a few seconds, so clients can tell these tokens from others */
export const KUBE_API_ACCESS_TOKEN_SECONDS = 3607;
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function randomSuffix(): string {
  let suffix = '';
  for (const byte of randomBytes(5)) suffix += NAME_ALPHABET[byte % NAME_ALPHABET.length];
  return suffix;
}

/** The projected volume upstream adds (pkg/serviceaccount TokenVolumeSource and friends). */
export function kubeApiAccessVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: KUBE_API_ACCESS_TOKEN_SECONDS, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

function mountsTokenPath(container: Record<string, unknown>): boolean {
  return arrayAt(container, ['volumeMounts']).some((mount) => isRecord(mount) && mount['mountPath'] === SERVICE_ACCOUNT_MOUNT_PATH);
}

/**
 * Adds the kube-api-access volume to a pod about to be created. `serviceAccounts` is the type to look
 * the pod's account up in (its automountServiceAccountToken decides when the pod's does not).
 */
export function admitServiceAccount(pod: KubeObject, namespace: string | undefined, store: ResourceStore, serviceAccounts: ResourceType | undefined): void {
  const spec = recordAt(pod, ['spec']);
  if (spec === undefined || Object.hasOwn(recordAt(pod, ['metadata', 'annotations']) ?? {}, MIRROR_POD_ANNOTATION)) return;
  const accountName = typeof spec['serviceAccountName'] === 'string' && spec['serviceAccountName'] !== '' ? spec['serviceAccountName'] : 'default';
  const account = serviceAccounts === undefined || namespace === undefined ? undefined : store.find(serviceAccounts, namespace, accountName);
  const podSays = spec['automountServiceAccountToken'];
  const accountSays = account?.['automountServiceAccountToken'];
  const automount = typeof podSays === 'boolean' ? podSays : typeof accountSays === 'boolean' ? accountSays : true;
  if (!automount) return;
  const containers = [...arrayAt(spec, ['initContainers']), ...arrayAt(spec, ['containers'])].filter(isRecord);
  // a pod that mounts something of its own at the path keeps it, as upstream
  if (containers.some(mountsTokenPath)) return;
  const volumes = Array.isArray(spec['volumes']) ? (spec['volumes'] as unknown[]) : [];
  const taken = new Set(volumes.filter(isRecord).map((volume) => volume['name']));
  let name = `${KUBE_API_ACCESS_PREFIX}${randomSuffix()}`;
  while (taken.has(name)) name = `${KUBE_API_ACCESS_PREFIX}${randomSuffix()}`;
  spec['volumes'] = [...volumes, kubeApiAccessVolume(name)];
  for (const container of containers) {
    const mounts = Array.isArray(container['volumeMounts']) ? (container['volumeMounts'] as unknown[]) : [];
    container['volumeMounts'] = [...mounts, { name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
  }
}
