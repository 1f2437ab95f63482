// API discovery: what kubectl reads to map kinds to resources.
export {
  aggregatedDiscovery,
  aggregatedDiscoveryContentType,
  apiGroup,
  groupList,
  legacyVersions,
  resourceList,
} from './discovery-documents';
