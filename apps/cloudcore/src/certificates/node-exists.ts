// Whether a node name is taken, for the certificate server: a join token must never mint a
// certificate for a node that exists and is not its own (its session would be replaced and its pods
// and secrets would flow to whoever holds the new certificate), nor for a non-edge node of a cluster.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeJson, isNotFound } from '@kedge/kube-client';

export interface NodeExistsSources {
  kubeConfig: KubeConfig;
  /** a live hub session counts too, even before its Node object is written */
  hasSession: (nodeName: string) => boolean;
  timeoutMs?: number;
}

/** A Node object or a hub session of that name; throws when the API server cannot say (callers fail closed). */
export function nodeExistsCheck(sources: NodeExistsSources): (nodeName: string) => Promise<boolean> {
  const api = new KubeJson(sources.kubeConfig, sources.timeoutMs ?? 10_000);
  return async (nodeName) => {
    if (sources.hasSession(nodeName)) return true;
    try {
      await api.get(`/api/v1/nodes/${encodeURIComponent(nodeName)}`);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  };
}
