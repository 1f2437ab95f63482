// Dialling node kubelets as kube-apiserver does (pods/log, exec, attach, portforward, nodes/proxy).
export { KubeletClient, type KubeletClientOptions } from './kubelet-client';
export { DEFAULT_KUBELET_PORT, DEFAULT_PREFERRED_ADDRESS_TYPES, kubeletLocation, type KubeletLocation, type NodeLike } from './node-location';
