// The served resources: built-in types, custom resources from CRDs, and the catalog of both.
export {
  ALL_VERBS,
  type ComputedResource,
  apiVersionOf,
  groupVersionKey,
  type NameRule,
  type ResourceNames,
  type ResourceType,
  type SubresourceName,
  type UpdateContext,
  type Verb,
} from './resource-type';
export { ResourceCatalog, compareVersions, type GroupVersions } from './resource-catalog';
export { customResourceTypes } from './custom-resources';
export { DEFAULT_TERMINATION_GRACE_SECONDS, MIRROR_POD_ANNOTATION } from './core-resources';
