// Authentication (static tokens, service account tokens, client certificates) and authorization
// (system:masters, the Node authorizer, RBAC), and the admission of writes (NodeRestriction, RBAC escalate/bind).
export {
  AUTHENTICATED_GROUP,
  Authenticator,
  MASTERS_GROUP,
  NODES_GROUP,
  NODE_USER_PREFIX,
  nodeNameOfUser,
  type ServiceAccountTokenCheck,
  type StaticToken,
  type UserInfo,
} from './authentication';
export { Authorizer, refusalText, type AuthorizationDecision, type AuthorizerHooks, type WriteRefusal, type WriteRefusalReason } from './authorization';
export { ensureBootstrapPolicy } from './bootstrap-policy';
export { effectiveUser } from './impersonation';
export { NODE_LEASE_NAMESPACE, mirrorPodReference, podReferences, type RequestAttributes } from './node-authorizer';
export { breakdownRule, compactRuleText, compactRules, coversRules, ruleCovers } from './policy-comparator';
export { ruleAllows, type AuthorizationAttributes, type PolicyRule } from './rbac-authorizer';
export {
  DEFAULT_SERVICE_ACCOUNT_ISSUER,
  SERVICE_ACCOUNTS_GROUP,
  ServiceAccountTokenError,
  ServiceAccountTokens,
  serviceAccountGroups,
  userNameOfServiceAccount,
  type BoundObjectKind,
  type ObjectBinding,
  type ServiceAccountIdentity,
} from './service-account-tokens';
