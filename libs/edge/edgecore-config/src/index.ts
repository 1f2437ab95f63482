// @kedge/edgecore-config: edgecore.yaml as a schema: what edgecore validates at start, what kedgeadm join
// writes and kedgeadm diagnose reads. `@kedge/edgecore-config/container-runtime` is the light entry (no zod).
export { containerRuntimeSocket } from './container-runtime';
export { edgeCoreConfigSchema, type EdgeCoreConfig, type EdgeCoreConfigInput } from './edgecore-config';
