// `kedgeadm reset`: remove exactly what join or init recorded, nothing else: files, and for
// `init --kubeconfig` the cluster objects init created (not the ones that were there before).
import { resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { deleteClusterObjects, describeRef } from './cluster-manifests';
import { KedgeadmUsageError } from './token-command';
import { WRITTEN_FILES_RECORD, readWrittenFiles, removeWrittenFiles, type ResetResult } from './written-files';

export interface ResetOptions {
  prefix: string;
  /** overrides the kubeconfig init recorded, for cluster objects */
  kubeconfig?: string;
}

export async function resetCommand(options: ResetOptions): Promise<ResetResult & { command: string }> {
  const prefix = resolve(options.prefix);
  const record = readWrittenFiles(prefix);
  if (!record) {
    throw new KedgeadmUsageError(
      `nothing to reset: ${prefix}/${WRITTEN_FILES_RECORD} does not exist (kedgeadm removes only what it recorded); ` +
        'pass the --prefix given to join or init',
    );
  }
  const removedObjects: string[] = [];
  const goneObjects: string[] = [];
  if (record.cluster !== undefined && record.cluster.objects.length > 0) {
    const kubeconfig = options.kubeconfig ?? record.cluster.kubeconfig;
    const kubeConfig = new KubeConfig();
    try {
      kubeConfig.loadFromFile(kubeconfig);
    } catch (error) {
      throw new KedgeadmUsageError(
        `reading ${kubeconfig} to delete what init created in the cluster: ${(error as Error).message}; pass --kubeconfig`,
        { cause: error },
      );
    }
    // cluster first: if it fails, the record stays and reset can run again
    const { deleted, alreadyGone } = await deleteClusterObjects(kubeConfig, record.cluster.objects);
    removedObjects.push(...deleted.map(describeRef));
    goneObjects.push(...alreadyGone.map(describeRef));
  }
  const files = removeWrittenFiles(prefix, record);
  return { removed: [...removedObjects, ...files.removed], alreadyGone: [...goneObjects, ...files.alreadyGone], command: record.command };
}
