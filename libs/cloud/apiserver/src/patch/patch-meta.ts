// Strategic-merge metadata of the built-in types: which lists merge (and by which key) instead of
// being replaced. Transcribed from the `patchStrategy`/`patchMergeKey` struct tags of k8s.io/api;
// fields not listed are maps that merge recursively or lists that are replaced (atomic).

export interface FieldMeta {
  /** 'merge' lists merge by `mergeKey` (maps) or as a set (primitives); lists default to replace */
  strategy?: 'merge';
  mergeKey?: string;
  /** metadata of the object value, or of each item for lists of objects */
  fields?: PatchMeta;
}

export type PatchMeta = Readonly<Record<string, FieldMeta>>;

const byName = (fields?: PatchMeta): FieldMeta => ({ strategy: 'merge', mergeKey: 'name', ...(fields ? { fields } : {}) });
const byType: FieldMeta = { strategy: 'merge', mergeKey: 'type' };
const conditionsOnly: FieldMeta = { fields: { conditions: byType } };

const OBJECT_META: PatchMeta = {
  finalizers: { strategy: 'merge' },
  ownerReferences: { strategy: 'merge', mergeKey: 'uid' },
};

const CONTAINER: PatchMeta = {
  ports: { strategy: 'merge', mergeKey: 'containerPort' },
  env: byName(),
  volumeMounts: { strategy: 'merge', mergeKey: 'mountPath' },
  volumeDevices: { strategy: 'merge', mergeKey: 'devicePath' },
};

const POD_SPEC: PatchMeta = {
  containers: byName(CONTAINER),
  initContainers: byName(CONTAINER),
  ephemeralContainers: byName(CONTAINER),
  volumes: byName(),
  imagePullSecrets: byName(),
  hostAliases: { strategy: 'merge', mergeKey: 'ip' },
  topologySpreadConstraints: { strategy: 'merge', mergeKey: 'topologyKey' },
  resourceClaims: byName(),
  schedulingGates: byName(),
};

const POD_STATUS: PatchMeta = {
  conditions: byType,
  podIPs: { strategy: 'merge', mergeKey: 'ip' },
  hostIPs: { strategy: 'merge', mergeKey: 'ip' },
};

const POD_TEMPLATE_SPEC: FieldMeta = { fields: { metadata: { fields: OBJECT_META }, spec: { fields: POD_SPEC } } };

const workload = (spec: PatchMeta): PatchMeta => ({ spec: { fields: spec }, status: conditionsOnly });

const KIND_META: Readonly<Record<string, PatchMeta>> = {
  Pod: { spec: { fields: POD_SPEC }, status: { fields: POD_STATUS } },
  PodTemplate: { template: POD_TEMPLATE_SPEC },
  Service: { spec: { fields: { ports: { strategy: 'merge', mergeKey: 'port' } } }, status: conditionsOnly },
  Node: { status: { fields: { conditions: byType, addresses: byType } } },
  Namespace: { status: conditionsOnly },
  ServiceAccount: { secrets: byName() },
  ConfigMap: {},
  Secret: {},
  Endpoints: {},
  Event: {},
  Lease: {},
  LimitRange: {},
  ResourceQuota: {},
  PersistentVolume: { status: conditionsOnly },
  PersistentVolumeClaim: { status: conditionsOnly },
  ReplicationController: workload({ template: POD_TEMPLATE_SPEC }),
  Deployment: workload({ template: POD_TEMPLATE_SPEC }),
  ReplicaSet: workload({ template: POD_TEMPLATE_SPEC }),
  StatefulSet: workload({ template: POD_TEMPLATE_SPEC }),
  DaemonSet: workload({ template: POD_TEMPLATE_SPEC }),
  Job: workload({ template: POD_TEMPLATE_SPEC }),
  CronJob: workload({ jobTemplate: { fields: { spec: { fields: { template: POD_TEMPLATE_SPEC } } } } }),
};

/** The metadata for a kind (ObjectMeta included), or undefined for kinds without strategic-merge tags. */
export function patchMetaForKind(kind: string | undefined): PatchMeta | undefined {
  if (kind === undefined || !Object.prototype.hasOwnProperty.call(KIND_META, kind)) return undefined;
  return { metadata: { fields: OBJECT_META }, ...KIND_META[kind] };
}

/** True for kinds with strategic-merge metadata; others (custom resources) should get 415 for SMP. */
export function supportsStrategicMerge(kind: string): boolean {
  return patchMetaForKind(kind) !== undefined;
}

/** Kinds without tables still get ObjectMeta's rules (finalizers as a set, ownerReferences by uid). */
export const GENERIC_META: PatchMeta = { metadata: { fields: OBJECT_META } };
