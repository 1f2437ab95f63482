// Admin kubeconfig files.
export { renderKubeconfig, writeKubeconfig, type KubeconfigContents } from './admin-kubeconfig';
