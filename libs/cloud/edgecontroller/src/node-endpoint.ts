// Edge Nodes point at the cloudcore that holds their link: kube-apiserver and metrics-server dial a
// node at its InternalIP and daemonEndpoints.kubeletEndpoint.Port, so those become the kubelet API
// cloudcore serves for the node. The addresses the edge reported are kept in an annotation.
// No Hostname address: kube-apiserver's default --kubelet-preferred-address-types starts with Hostname and
// dials the first type present, so with only an InternalIP it lands here with no flag changed.
export const EDGE_ADDRESSES_ANNOTATION = 'kedge.io/edge-addresses';

export interface NodeEndpoint {
  address: string;
  port: number;
}

/** Where the kubelet API for a node is served, or undefined when this cloudcore serves none for it (yet). */
export type NodeEndpointLookup = (nodeName: string) => NodeEndpoint | undefined;

type Json = Record<string, unknown>;

/** The status with addresses and daemon endpoint replaced by the endpoint's, and the edge's own addresses. */
export function pointAtEndpoint(status: Json, endpoint: NodeEndpoint | undefined): { status: Json; edgeAddresses: unknown[] | undefined } {
  const edgeAddresses = Array.isArray(status['addresses']) ? (status['addresses'] as unknown[]) : undefined;
  if (endpoint === undefined) return { status, edgeAddresses };
  return {
    status: {
      ...status,
      addresses: [{ type: 'InternalIP', address: endpoint.address }],
      daemonEndpoints: { kubeletEndpoint: { Port: endpoint.port } },
    },
    edgeAddresses,
  };
}
