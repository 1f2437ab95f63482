// @kedge/edgecore-config: edgecore.yaml as a schema: what edgecore validates at start, what kedgeadm join
// writes and kedgeadm diagnose reads.
export { containerRuntimeSocket, edgeCoreConfigSchema, type EdgeCoreConfig, type EdgeCoreConfigInput } from './edgecore-config';
