// The protobuf field numbers of the Kubernetes types kubectl sends as protobuf (the typed clients
// behind `kubectl create configmap|secret|namespace|serviceaccount|service|role|clusterrole|
// rolebinding|clusterrolebinding|token` and `kubectl auth can-i [--list]|whoami`), transcribed from
// k8s.io/api/{core,rbac,authentication,authorization}/v1/generated.proto and
// k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.

export type ScalarType = 'string' | 'bytes' | 'bool' | 'int32' | 'int64';
/** what a map's values are: a scalar, a resource.Quantity, or a metav1.Time */
export type MapValueType = ScalarType | 'quantity' | 'time';

export type FieldType =
  | { kind: 'scalar'; type: ScalarType }
  | { kind: 'message'; message: () => MessageSchema }
  /** a Go struct embedded inline: its fields appear in the parent's JSON */
  | { kind: 'embedded'; message: () => MessageSchema }
  | { kind: 'map'; value: MapValueType }
  | { kind: 'time' }
  | { kind: 'intOrString' }
  | { kind: 'quantity' }
  /** FieldsV1: JSON bytes */
  | { kind: 'rawJson' };

export interface FieldSchema {
  name: string;
  type: FieldType;
  repeated?: boolean;
  /** a Go pointer field (`*int32`, `*IntOrString`): Go writes it only when set, so a zero is meant and kept */
  pointer?: boolean;
}

export type MessageSchema = Readonly<Record<number, FieldSchema>>;

export const s = (name: string, repeated = false): FieldSchema => ({ name, type: { kind: 'scalar', type: 'string' }, repeated });
export const scalar = (name: string, type: ScalarType): FieldSchema => ({ name, type: { kind: 'scalar', type } });
export const message = (name: string, schema: () => MessageSchema, repeated = false): FieldSchema => ({ name, type: { kind: 'message', message: schema }, repeated });
export const map = (name: string, value: MapValueType = 'string'): FieldSchema => ({ name, type: { kind: 'map', value } });

const OWNER_REFERENCE: MessageSchema = {
  1: s('kind'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: scalar('controller', 'bool'),
  7: scalar('blockOwnerDeletion', 'bool'),
};

const MANAGED_FIELDS_ENTRY: MessageSchema = {
  1: s('manager'),
  2: s('operation'),
  3: s('apiVersion'),
  4: { name: 'time', type: { kind: 'time' } },
  6: s('fieldsType'),
  7: { name: 'fieldsV1', type: { kind: 'rawJson' } },
  8: s('subresource'),
};

export const OBJECT_META: MessageSchema = {
  1: s('name'),
  2: s('generateName'),
  3: s('namespace'),
  4: s('selfLink'),
  5: s('uid'),
  6: s('resourceVersion'),
  7: scalar('generation', 'int64'),
  8: { name: 'creationTimestamp', type: { kind: 'time' } },
  9: { name: 'deletionTimestamp', type: { kind: 'time' } },
  10: scalar('deletionGracePeriodSeconds', 'int64'),
  11: map('labels'),
  12: map('annotations'),
  13: message('ownerReferences', () => OWNER_REFERENCE, true),
  14: s('finalizers', true),
  17: message('managedFields', () => MANAGED_FIELDS_ENTRY, true),
};

export const METADATA = message('metadata', () => OBJECT_META);
export const LOCAL_OBJECT_REFERENCE: MessageSchema = { 1: s('name') };
const OBJECT_REFERENCE: MessageSchema = {
  1: s('kind'),
  2: s('namespace'),
  3: s('name'),
  4: s('uid'),
  5: s('apiVersion'),
  6: s('resourceVersion'),
  7: s('fieldPath'),
};

const SERVICE_PORT: MessageSchema = {
  1: s('name'),
  2: s('protocol'),
  3: scalar('port', 'int32'),
  4: { name: 'targetPort', type: { kind: 'intOrString' } },
  5: scalar('nodePort', 'int32'),
  6: s('appProtocol'),
};

const SERVICE_SPEC: MessageSchema = {
  1: message('ports', () => SERVICE_PORT, true),
  2: map('selector'),
  3: s('clusterIP'),
  4: s('type'),
  5: s('externalIPs', true),
  7: s('sessionAffinity'),
  8: s('loadBalancerIP'),
  9: s('loadBalancerSourceRanges', true),
  10: s('externalName'),
  11: s('externalTrafficPolicy'),
  12: scalar('healthCheckNodePort', 'int32'),
  13: scalar('publishNotReadyAddresses', 'bool'),
  14: message('sessionAffinityConfig', () => ({ 1: message('clientIP', () => ({ 1: scalar('timeoutSeconds', 'int32') })) })),
  17: s('ipFamilyPolicy'),
  18: s('clusterIPs', true),
  19: s('ipFamilies', true),
  20: scalar('allocateLoadBalancerNodePorts', 'bool'),
  21: s('loadBalancerClass'),
  22: s('internalTrafficPolicy'),
  23: s('trafficDistribution'),
};

const LOAD_BALANCER_INGRESS: MessageSchema = { 1: s('ip'), 2: s('hostname'), 3: s('ipMode') };
const SERVICE_STATUS: MessageSchema = { 1: message('loadBalancer', () => ({ 1: message('ingress', () => LOAD_BALANCER_INGRESS, true) })) };

export const LABEL_SELECTOR_REQUIREMENT: MessageSchema = { 1: s('key'), 2: s('operator'), 3: s('values', true) };
export const LABEL_SELECTOR: MessageSchema = { 1: map('matchLabels'), 2: message('matchExpressions', () => LABEL_SELECTOR_REQUIREMENT, true) };

const POLICY_RULE: MessageSchema = { 1: s('verbs', true), 2: s('apiGroups', true), 3: s('resources', true), 4: s('resourceNames', true), 5: s('nonResourceURLs', true) };
const RBAC_SUBJECT: MessageSchema = { 1: s('kind'), 2: s('apiGroup'), 3: s('name'), 4: s('namespace') };
const ROLE_REF: MessageSchema = { 1: s('apiGroup'), 2: s('kind'), 3: s('name') };
const ROLE_BINDING: MessageSchema = { 1: METADATA, 2: message('subjects', () => RBAC_SUBJECT, true), 3: message('roleRef', () => ROLE_REF) };

const SELECTOR_ATTRIBUTES: MessageSchema = { 1: s('rawSelector'), 2: message('requirements', () => LABEL_SELECTOR_REQUIREMENT, true) };
const RESOURCE_ATTRIBUTES: MessageSchema = {
  1: s('namespace'),
  2: s('verb'),
  3: s('group'),
  4: s('version'),
  5: s('resource'),
  6: s('subresource'),
  7: s('name'),
  8: message('fieldSelector', () => SELECTOR_ATTRIBUTES),
  9: message('labelSelector', () => SELECTOR_ATTRIBUTES),
};
const NON_RESOURCE_ATTRIBUTES: MessageSchema = { 1: s('path'), 2: s('verb') };
const ACCESS_REVIEW_STATUS: MessageSchema = { 1: scalar('allowed', 'bool'), 2: s('reason'), 3: s('evaluationError'), 4: scalar('denied', 'bool') };

/** Top-level kinds by "apiVersion/kind". */
export const KIND_SCHEMAS: Readonly<Record<string, MessageSchema>> = {
  'v1/ConfigMap': { 1: METADATA, 2: map('data'), 3: map('binaryData', 'bytes'), 4: scalar('immutable', 'bool') },
  'v1/Secret': { 1: METADATA, 2: map('data', 'bytes'), 3: s('type'), 4: map('stringData'), 5: scalar('immutable', 'bool') },
  'v1/Namespace': { 1: METADATA, 2: message('spec', () => ({ 1: s('finalizers', true) })), 3: message('status', () => ({ 1: s('phase') })) },
  'v1/ServiceAccount': {
    1: METADATA,
    2: message('secrets', () => OBJECT_REFERENCE, true),
    3: message('imagePullSecrets', () => LOCAL_OBJECT_REFERENCE, true),
    4: scalar('automountServiceAccountToken', 'bool'),
  },
  'v1/Service': { 1: METADATA, 2: message('spec', () => SERVICE_SPEC), 3: message('status', () => SERVICE_STATUS) },
  'rbac.authorization.k8s.io/v1/Role': { 1: METADATA, 2: message('rules', () => POLICY_RULE, true) },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    1: METADATA,
    2: message('rules', () => POLICY_RULE, true),
    3: message('aggregationRule', () => ({ 1: message('clusterRoleSelectors', () => LABEL_SELECTOR, true) })),
  },
  'rbac.authorization.k8s.io/v1/RoleBinding': ROLE_BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ROLE_BINDING,
  'authentication.k8s.io/v1/TokenRequest': {
    1: METADATA,
    2: message('spec', () => ({
      1: s('audiences', true),
      3: message('boundObjectRef', () => ({ 1: s('kind'), 2: s('apiVersion'), 3: s('name'), 4: s('uid') })),
      4: scalar('expirationSeconds', 'int64'),
    })),
    3: message('status', () => ({ 1: s('token'), 2: { name: 'expirationTimestamp', type: { kind: 'time' } } })),
  },
  'authentication.k8s.io/v1/SelfSubjectReview': {
    1: METADATA,
    2: message('status', () => ({ 1: message('userInfo', () => ({ 1: s('username'), 2: s('uid'), 3: s('groups', true) })) })),
  },
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: METADATA,
    2: message('spec', () => ({ 1: message('resourceAttributes', () => RESOURCE_ATTRIBUTES), 2: message('nonResourceAttributes', () => NON_RESOURCE_ATTRIBUTES) })),
    3: message('status', () => ACCESS_REVIEW_STATUS),
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': {
    1: METADATA,
    2: message('spec', () => ({ 1: s('namespace') })),
    3: message('status', () => ({
      1: message('resourceRules', () => ({ 1: s('verbs', true), 2: s('apiGroups', true), 3: s('resources', true), 4: s('resourceNames', true) }), true),
      2: message('nonResourceRules', () => ({ 1: s('verbs', true), 2: s('nonResourceURLs', true) }), true),
      3: scalar('incomplete', 'bool'),
      4: s('evaluationError'),
    })),
  },
  'authorization.k8s.io/v1/SubjectAccessReview': {
    1: METADATA,
    2: message('spec', () => ({
      1: message('resourceAttributes', () => RESOURCE_ATTRIBUTES),
      2: message('nonResourceAttributes', () => NON_RESOURCE_ATTRIBUTES),
      3: s('user'),
      4: s('groups', true),
      6: s('uid'),
    })),
    3: message('status', () => ACCESS_REVIEW_STATUS),
  },
};
