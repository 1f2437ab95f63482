// The cloudcore manifests (deploy/cloudcore) as kedgeadm applies them to an existing cluster:
// loaded, adjusted to this install (advertise address, image), applied with server-side apply,
// and deleted again by `kedgeadm reset` — only the objects init created.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments, type Document } from 'yaml';
import { cloudCoreConfigSchema } from '@kedge/cloudcore-config';
import { ConfigError, parseConfigText } from '@kedge/config';
import { KedgeadmUsageError } from './token-command';

/** deploy/cloudcore in this checkout (kedgeadm runs from the repository or a bundle next to it). */
export const DEFAULT_MANIFEST_DIR = fileURLToPath(new URL('../../../deploy/cloudcore/', import.meta.url));

const FIELD_MANAGER = 'kedgeadm';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ClusterManifest {
  file: string;
  object: KubernetesObject & { metadata: { name: string; namespace?: string } };
}

export interface ManifestCustomization {
  /** the addresses edges dial; they go into cloudcore's server certificate */
  advertiseAddresses?: readonly string[];
  /** the cloudcore container image */
  image?: string;
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind.toLowerCase()}/${ref.name}${ref.namespace ? ` (namespace ${ref.namespace})` : ''}`;
}

export function refOf(object: ClusterManifest['object']): ObjectRef {
  return {
    apiVersion: object.apiVersion ?? '',
    kind: object.kind ?? '',
    name: object.metadata.name,
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  };
}

/** Every document of every *.yaml in `dir`, in file order (00-namespace first). */
export function loadClusterManifests(dir: string, customization: ManifestCustomization = {}): ClusterManifest[] {
  if (!existsSync(dir)) {
    throw new KedgeadmUsageError(`--manifests ${dir}: no such directory; point it at deploy/cloudcore of the kedge release you install`);
  }
  const files = readdirSync(dir).filter((name) => name.endsWith('.yaml')).sort();
  if (files.length === 0) throw new KedgeadmUsageError(`--manifests ${dir}: no *.yaml files there`);
  const manifests: ClusterManifest[] = [];
  for (const file of files) {
    const path = join(dir, file);
    for (const [index, document] of parseAllDocuments(readFileSync(path, 'utf8')).entries()) {
      if (document.errors.length > 0) {
        throw new KedgeadmUsageError(`${path} document ${index + 1}: ${document.errors.map((e) => e.message).join('; ')}`);
      }
      const object: unknown = document.toJS();
      if (object === null || object === undefined) continue;
      manifests.push({ file: path, object: checkedObject(object, `${path} document ${index + 1}`) });
    }
  }
  return manifests.map((manifest) => customize(manifest, customization));
}

function checkedObject(value: unknown, where: string): ClusterManifest['object'] {
  const object = value as Partial<ClusterManifest['object']>;
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof object?.[field] !== 'string' || object[field] === '') throw new KedgeadmUsageError(`${where}: ${field} is missing`);
  }
  if (typeof object.metadata?.name !== 'string' || object.metadata.name === '') {
    throw new KedgeadmUsageError(`${where}: metadata.name is missing`);
  }
  return object as ClusterManifest['object'];
}

function customize(manifest: ClusterManifest, customization: ManifestCustomization): ClusterManifest {
  const object = structuredClone(manifest.object) as ClusterManifest['object'] & Record<string, unknown>;
  if (object.kind === 'ConfigMap' && customization.advertiseAddresses !== undefined) {
    const data = object['data'] as Record<string, string> | undefined;
    const text = data?.['cloudcore.yaml'];
    if (data !== undefined && text !== undefined) {
      // edit the document, not the text: the comments operators read in the ConfigMap stay
      const [document] = parseAllDocuments(text) as Document.Parsed[];
      if (document !== undefined) {
        document.setIn(['cloudHub', 'advertiseAddresses'], [...customization.advertiseAddresses]);
        data['cloudcore.yaml'] = document.toString();
        // the pod's cloudcore would refuse a bad one in a crash loop; say so before applying anything
        try {
          parseConfigText(data['cloudcore.yaml'], cloudCoreConfigSchema, `${manifest.file} ConfigMap ${object.metadata.name} cloudcore.yaml`);
        } catch (error) {
          if (error instanceof ConfigError) throw new KedgeadmUsageError(error.message, { cause: error });
          throw error;
        }
      }
    }
  }
  if (object.kind === 'Deployment' && customization.image !== undefined) {
    const containers = (object['spec'] as { template?: { spec?: { containers?: { name: string; image?: string }[] } } } | undefined)
      ?.template?.spec?.containers;
    const cloudcore = containers?.find((container) => container.name === 'cloudcore');
    if (cloudcore !== undefined) cloudcore.image = customization.image;
  }
  return { file: manifest.file, object };
}

export interface ApplyOutcome {
  ref: ObjectRef;
  /** false when the object was there before (init does not delete it on reset) */
  created: boolean;
}

/**
 * Applies each object with server-side apply as field manager "kedgeadm". With `dryRun` the
 * server validates everything (admission, schemas, RBAC of the caller) and stores nothing.
 */
export async function applyClusterManifests(
  kubeConfig: KubeConfig,
  manifests: readonly ClusterManifest[],
  options: { dryRun?: boolean; onApplied?: (outcome: ApplyOutcome) => void } = {},
): Promise<ApplyOutcome[]> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const outcomes: ApplyOutcome[] = [];
  for (const { file, object } of manifests) {
    const ref = refOf(object);
    const existed = await exists(client, ref, kubeConfig);
    try {
      await client.patch(object, undefined, options.dryRun ? 'All' : undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      throw new KedgeadmUsageError(`applying ${describeRef(ref)} from ${file} failed: ${apiErrorText(error, kubeConfig)}`, { cause: error });
    }
    const outcome = { ref, created: !existed };
    outcomes.push(outcome);
    options.onApplied?.(outcome);
  }
  return outcomes;
}

/** Deletes the objects, last first; objects already gone count as deleted. */
export async function deleteClusterObjects(kubeConfig: KubeConfig, refs: readonly ObjectRef[]): Promise<{ deleted: ObjectRef[]; alreadyGone: ObjectRef[] }> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const deleted: ObjectRef[] = [];
  const alreadyGone: ObjectRef[] = [];
  for (const ref of [...refs].reverse()) {
    try {
      await client.delete(specOf(ref), undefined, undefined, undefined, undefined, 'Background');
      deleted.push(ref);
    } catch (error) {
      if (statusCode(error) === 404) alreadyGone.push(ref);
      else throw new KedgeadmUsageError(`deleting ${describeRef(ref)} failed: ${apiErrorText(error, kubeConfig)}`, { cause: error });
    }
  }
  return { deleted, alreadyGone };
}

async function exists(client: KubernetesObjectApi, ref: ObjectRef, kubeConfig: KubeConfig): Promise<boolean> {
  try {
    await client.read(specOf(ref));
    return true;
  } catch (error) {
    if (statusCode(error) === 404) return false;
    throw new KedgeadmUsageError(`reading ${describeRef(ref)} failed: ${apiErrorText(error, kubeConfig)}`, { cause: error });
  }
}

function specOf(ref: ObjectRef): KubernetesObject & { metadata: { name: string; namespace?: string } } {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
}

function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** The API server's own message (its Status), plus what to do for the usual causes. */
export function apiErrorText(error: unknown, kubeConfig: KubeConfig): string {
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server in the kubeconfig)';
  if (error instanceof ApiException) {
    let message = String(error.body);
    try {
      const status = (typeof error.body === 'string' ? JSON.parse(error.body) : error.body) as { message?: string };
      if (typeof status?.message === 'string') message = status.message;
    } catch {
      // not a Status body; keep the raw text
    }
    const hint =
      error.code === 401
        ? ' (the kubeconfig credentials were refused)'
        : error.code === 403
          ? ' (kedgeadm init needs cluster-admin: it creates a namespace, a ClusterRole and a ClusterRoleBinding)'
          : error.code === 404 && /the server could not find|no matches/i.test(message)
            ? ' (the cluster does not serve this API group)'
            : '';
    return `${server} answered ${error.code}: ${message}${hint}`;
  }
  const text = error instanceof Error ? error.message : String(error);
  return `${text} (is ${server} reachable? check the kubeconfig's server and credentials)`;
}
