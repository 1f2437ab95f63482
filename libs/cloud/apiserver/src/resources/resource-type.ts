// What the server knows about one served resource (a group/version/plural): names for discovery and
// messages, where its objects live in storage, and the per-type behaviour Kubernetes keeps in a
// registry "strategy" (defaults on create, what an update may change, validation, table columns).
import type { KubeObject, StatusCause, TableConverter } from '@kedge/kube-core';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/**
 * Subresources this server routes: `status` through the object store, the pod streams and nodes/proxy to the node's kubelet,
 * `token` (serviceaccounts) to the TokenRequest handler, `binding` (pods) to the scheduler's binding handler,
 * `eviction` (pods) to the eviction handler (PodDisruptionBudgets checked), `ephemeralcontainers` (pods) through the
 * object store, where only spec.ephemeralContainers may change and only by additions.
 */
export type SubresourceName =
  | 'status' | 'log' | 'exec' | 'attach' | 'portforward' | 'finalize' | 'token' | 'scale' | 'binding' | 'proxy' | 'eviction' | 'ephemeralcontainers';

/** How a name must look; mirrors apimachinery's name validators. */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path-segment';

export interface ResourceNames {
  /** '' for the core group */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** the resource in URLs, e.g. `pods` */
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
}

export interface UpdateContext {
  /**
   * 'status' for the status subresource, 'finalize' for namespaces' finalize, 'binding' for a pod's
   * binding (spec.nodeName and the PodScheduled condition in one write), 'ephemeralcontainers' for a pod's
   * spec.ephemeralContainers, '' for the main resource
   */
  subresource: '' | 'status' | 'finalize' | 'binding' | 'ephemeralcontainers';
}

export interface ResourceType extends ResourceNames {
  verbs: readonly Verb[];
  subresources: readonly SubresourceName[];
  /** `/registry/<group|core>/<plural>`; events.k8s.io events share core events' prefix */
  storagePrefix: string;
  nameRule: NameRule;
  /** built-in types take strategic merge patches; custom resources answer 415 as in Kubernetes */
  acceptsStrategicMerge: boolean;
  /** PUT of a missing object creates it (events, leases, services, endpoints in Kubernetes) */
  allowCreateOnUpdate: boolean;
  /** PUT without metadata.resourceVersion is allowed (false for custom resources and CRDs) */
  allowUnconditionalUpdate: boolean;
  /** field selector values beyond metadata.name / metadata.namespace; missing fields read as '' */
  fieldSelectors: Readonly<Record<string, (object: KubeObject) => string>>;
  table: TableConverter;
  /** defaults and resets on create, after metadata is set (e.g. pod phase Pending, no status on a CR) */
  prepareForCreate(object: KubeObject): void;
  /** makes `next` what may be stored given `previous` (status kept on the main resource, only status on /status) */
  prepareForUpdate(next: KubeObject, previous: KubeObject, context: UpdateContext): void;
  /** field errors of the whole object (metadata included); `previous` is set on update */
  validate(object: KubeObject, previous: KubeObject | undefined): StatusCause[];
  /** unknown fields for fieldValidation=Strict/Warn; types without a schema report none */
  unknownFields(object: KubeObject): string[];
  /** seconds a delete waits before the object goes, given the requested grace; 0 = now */
  deletionGracePeriod(object: KubeObject, requested: number | undefined): number;
  /** stored form → this version's wire form (events.k8s.io/v1 reads core events) */
  toWire(stored: KubeObject): KubeObject;
  /** this version's wire form → stored form */
  fromWire(object: KubeObject): KubeObject;
  /** toWire and fromWire are the identity: the stored JSON is the served JSON (lets a create answer with what it stored) */
  storedAsServed?: boolean;
  /** the CRD that defines this resource, for custom resources */
  definedBy?: string;
  /** OpenAPI v3 schema of the object, published for custom resources */
  openApiSchema?: Record<string, unknown>;
  /** create-only kinds that are answered and never stored (access reviews), as in Kubernetes */
  ephemeral?: boolean;
  /** read-only kinds computed on request and never stored (metrics.k8s.io), served by get and list */
  computed?: ComputedResource;
}

/** Where a computed kind's objects come from; each call reads the current state. */
export interface ComputedResource {
  /** undefined: there is no such object now */
  get(namespace: string | undefined, name: string): KubeObject | undefined;
  /** every object, or those of one namespace */
  list(namespace: string | undefined): KubeObject[];
}

export function apiVersionOf(names: Pick<ResourceNames, 'group' | 'version'>): string {
  return names.group === '' ? names.version : `${names.group}/${names.version}`;
}

export function groupVersionKey(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}
