// Where a node's kubelet is, as kube-apiserver's kubelet client finds it (pkg/kubelet/client and
// pkg/util/node): the first address of the first preferred type in status.addresses, and
// status.daemonEndpoints.kubeletEndpoint.Port (10250 when unset).
import { internalError } from '@kedge/kube-core';

export const DEFAULT_KUBELET_PORT = 10250;
export const DEFAULT_PREFERRED_ADDRESS_TYPES = ['InternalIP', 'Hostname', 'ExternalIP'] as const;

export interface NodeLike {
  metadata?: { name?: string };
  status?: { addresses?: Array<{ type?: string; address?: string }>; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

export interface KubeletLocation {
  host: string;
  port: number;
}

/** @throws StatusError 500 when the node has no address of a preferred type (kube-apiserver's words) */
export function kubeletLocation(node: NodeLike, preferredAddressTypes: readonly string[]): KubeletLocation {
  const addresses = Array.isArray(node.status?.addresses) ? node.status.addresses : [];
  let host: string | undefined;
  for (const type of preferredAddressTypes) {
    host = addresses.find((entry) => entry.type === type && typeof entry.address === 'string' && entry.address !== '')?.address;
    if (host !== undefined) break;
  }
  if (host === undefined) {
    throw internalError(`no preferred addresses found; known addresses: ${JSON.stringify(addresses.map((a) => ({ type: a.type, address: a.address })))}`);
  }
  const configured = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const port = typeof configured === 'number' && Number.isInteger(configured) && configured > 0 && configured < 65_536 ? configured : DEFAULT_KUBELET_PORT;
  return { host, port };
}
