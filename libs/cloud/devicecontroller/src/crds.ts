// Installs kedge's CRDs if missing, brings older revisions of them up to date (an upgrade adds fields the
// API server would otherwise prune), and waits until the API server reports them Established.
import { createHash } from 'node:crypto';
import { kedgeCrdManifests } from '@kedge/device-api';
import { errorMessage, isConflict, isNotFound } from '@kedge/kube-client';
import type { Logger } from '@kedge/telemetry';
import { ApiextensionsV1Api, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { CrdInstallError } from './errors';

export interface InstallCrdsOptions {
  timeoutMs?: number;
  pollMs?: number;
}

/** The revision of kedge's manifest a CRD was written from: a hash of the manifest. */
export const CRD_REVISION_ANNOTATION = 'devices.kedge.io/crd-revision';

const revisionOf = (manifest: unknown): string => createHash('sha256').update(JSON.stringify(manifest)).digest('hex').slice(0, 16);

const established = (crd: V1CustomResourceDefinition): boolean =>
  crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;

/** @throws CrdInstallError */
export async function installCrds(kubeConfig: KubeConfig, logger: Logger, options: InstallCrdsOptions = {}): Promise<void> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const pollMs = options.pollMs ?? 100;
  for (const manifest of kedgeCrdManifests()) {
    const name = manifest.metadata.name;
    const revision = revisionOf(manifest);
    const body = toClientModel({ ...manifest, metadata: { ...manifest.metadata, annotations: { [CRD_REVISION_ANNOTATION]: revision } } }) as V1CustomResourceDefinition;
    let existing: V1CustomResourceDefinition | undefined;
    try {
      existing = await api.readCustomResourceDefinition({ name });
    } catch (error) {
      if (!isNotFound(error)) throw new CrdInstallError(`reading CRD ${name}: ${errorMessage(error)}`, { cause: error });
      try {
        await api.createCustomResourceDefinition({ body });
        logger.info({ crd: name, revision }, 'CRD installed');
      } catch (createError) {
        if (!isConflict(createError)) throw new CrdInstallError(`creating CRD ${name}: ${errorMessage(createError)}`, { cause: createError });
      }
    }
    if (existing !== undefined && existing.metadata?.annotations?.[CRD_REVISION_ANNOTATION] !== revision) {
      // an older kedge (or another installer): replace it with this revision, which only adds fields
      try {
        body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion };
        await api.replaceCustomResourceDefinition({ name, body });
        logger.info({ crd: name, revision, previous: existing.metadata?.annotations?.[CRD_REVISION_ANNOTATION] ?? 'none' }, 'CRD updated');
      } catch (error) {
        // another cloudcore replica updated it first; it is established below either way
        if (!isConflict(error)) throw new CrdInstallError(`updating CRD ${name}: ${errorMessage(error)}`, { cause: error });
      }
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (established(crd)) break;
      if (Date.now() > deadline) throw new CrdInstallError(`CRD ${name} not Established within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}

/**
 * client-node serializes bodies through its models, which name the `x-kubernetes-*` schema keys
 * `x_kubernetes_*` and drop keys they do not know: rename them so they survive serialization.
 * `items` and `additionalProperties` are typed `any` in the model and go out as they are, so their
 * contents keep the API's own `x-kubernetes-*` names.
 */
function toClientModel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toClientModel);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.startsWith('x-kubernetes-') ? k.replaceAll('-', '_') : k, k === 'items' || k === 'additionalProperties' ? v : toClientModel(v)]),
  );
}
