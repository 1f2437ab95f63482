// @kedge/cloudcore-config: cloudcore.yaml as a schema: what cloudcore validates at start and what
// kedgeadm init writes.
export { cloudCoreConfigSchema, type CloudCoreConfig, type CloudCoreConfigInput } from './cloudcore-config';
