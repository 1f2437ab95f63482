// Authentication (tokens, client certificates) and authorization (admin, node rules).
export {
  AUTHENTICATED_GROUP,
  Authenticator,
  MASTERS_GROUP,
  NODES_GROUP,
  NODE_USER_PREFIX,
  nodeNameOfUser,
  type StaticToken,
  type UserInfo,
} from './authentication';
export { Authorizer } from './authorization';
export { NODE_LEASE_NAMESPACE, podReferences, type RequestAttributes } from './node-authorizer';
