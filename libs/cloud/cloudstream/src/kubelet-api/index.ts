// The kubelet API cloudcore serves for edge nodes (kube-apiserver and metrics-server dial it as a kubelet).
export { KubeletApiServer, DEFAULT_KUBELET_API_PORT_RANGE_START, type KubeletApiServerOptions, type KubeletPod, type NodeEndpoint } from './kubelet-api-server';
export { KubeletAuth, clusterAuthBackend, type AccessDecision, type KubeletAuthBackend, type KubeletAuthOptions, type KubeletCaller, type NodeAccess } from './kubelet-auth';
export { KubeletApiMetrics } from './kubelet-api-metrics';
export { KubeletRequestError, type KubeletRefusal } from './kubelet-errors';
export { authorizationSubresource, authorizationVerb, parseKubeletPath, type KubeletRoute } from './kubelet-paths';
export { PortRangeExhaustedError } from './node-ports';
export type { NodeReadEndpoints } from './node-read-endpoints';
