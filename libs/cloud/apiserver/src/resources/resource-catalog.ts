// Which resources are served right now: the built-ins, plus the custom resources of every established
// CRD. Discovery, OpenAPI, routing and the controllers all read from here, and the CRD controller
// changes it, so `kubectl api-resources` sees a CRD as soon as it is established.
import type { ResourceType } from './resource-type';
import { coreResources } from './core-resources';
import { groupResources } from './group-resources';
import { appsResources } from './apps-resources';
import { batchResources } from './batch-resources';
import { rbacResources } from './rbac-resources';
import { reviewResources } from './review-resources';
import { policyResources } from './policy-resources';

export interface GroupVersions {
  group: string;
  /** newest first; the first is the preferred version */
  versions: string[];
}

const BUILTIN_GROUP_ORDER = ['', 'apps', 'batch', 'authentication.k8s.io', 'authorization.k8s.io', 'rbac.authorization.k8s.io', 'policy', 'coordination.k8s.io', 'events.k8s.io', 'apiextensions.k8s.io', 'metrics.k8s.io'];

/** Kubernetes' version priority: GA before beta before alpha, higher numbers first, other names last (alphabetical). */
export function compareVersions(a: string, b: string): number {
  const rank = (version: string): { stability: number; major: number; minor: number } => {
    const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
    if (!match) return { stability: 0, major: 0, minor: 0 };
    const stability = match[2] === undefined ? 3 : match[2] === 'beta' ? 2 : 1;
    return { stability, major: Number(match[1]), minor: Number(match[3] ?? 0) };
  };
  const left = rank(a);
  const right = rank(b);
  if (left.stability !== right.stability) return right.stability - left.stability;
  if (left.stability === 0) return a.localeCompare(b);
  return right.major - left.major || right.minor - left.minor;
}

/** What every request looks types up in, built once per catalog change (lookups are on the hot path). */
interface CatalogIndex {
  all: readonly ResourceType[];
  storageTypes: readonly ResourceType[];
  /** `group/version/plural` → type */
  byResource: Map<string, ResourceType>;
  /** `group/plural` → the first type of any version */
  byAnyVersion: Map<string, ResourceType>;
  /** `group/version/kind` → type */
  byKind: Map<string, ResourceType>;
  /** storage prefix → type, for storage keys */
  byStoragePrefix: Map<string, ResourceType>;
}

export class ResourceCatalog {
  private readonly builtin: ResourceType[];
  private readonly custom = new Map<string, ResourceType[]>();
  private readonly listeners = new Set<() => void>();
  private generation = 0;
  private cached: CatalogIndex | undefined;

  /** `served`: further built-in kinds this server was configured with (metrics.k8s.io when it has a source) */
  constructor(served: readonly ResourceType[] = []) {
    this.builtin = [...coreResources(), ...appsResources(), ...batchResources(), ...groupResources(), ...rbacResources(), ...policyResources(), ...reviewResources(), ...served];
  }

  /** Bumped on every change; discovery and OpenAPI documents are cached per generation. */
  get version(): number {
    return this.generation;
  }

  all(): ResourceType[] {
    return [...this.index().all];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.index().byResource.get(`${group}/${version}/${plural}`);
  }

  /** Whether any version of group/plural is served (a wrong version gets a 404 naming the resource). */
  findAnyVersion(group: string, plural: string): ResourceType | undefined {
    return this.index().byAnyVersion.get(`${group}/${plural}`);
  }

  /** The preferred version of the type with this apiVersion/kind, e.g. for ownerReferences. */
  findByKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    return this.index().byKind.get(`${group}/${version}/${kind}`);
  }

  /** One type per storage prefix: what the namespace and garbage collectors walk. */
  storageTypes(): ResourceType[] {
    return [...this.index().storageTypes];
  }

  /** The type owning a storage key, for turning storage events back into objects. */
  typeForKey(key: string): ResourceType | undefined {
    // storage prefixes are `/registry/<group>/<plural>` or `/registry/<plural>`: try the key's first two and three segments
    const { byStoragePrefix } = this.index();
    let end = key.indexOf('/', '/registry/'.length);
    for (let segments = 0; end !== -1 && segments < 2; segments++) {
      const type = byStoragePrefix.get(key.slice(0, end));
      if (type !== undefined) return type;
      end = key.indexOf('/', end + 1);
    }
    return undefined;
  }

  /** The lookup tables of the current generation; the first match wins, as a scan of `all()` would. */
  private index(): CatalogIndex {
    if (this.cached !== undefined) return this.cached;
    const all = [...this.builtin, ...[...this.custom.values()].flat()];
    const byResource = new Map<string, ResourceType>();
    const byAnyVersion = new Map<string, ResourceType>();
    const byKind = new Map<string, ResourceType>();
    const byStoragePrefix = new Map<string, ResourceType>();
    const storageTypes: ResourceType[] = [];
    const setFirst = (map: Map<string, ResourceType>, key: string, type: ResourceType): void => {
      if (!map.has(key)) map.set(key, type);
    };
    for (const type of all) {
      setFirst(byResource, `${type.group}/${type.version}/${type.plural}`, type);
      setFirst(byAnyVersion, `${type.group}/${type.plural}`, type);
      setFirst(byKind, `${type.group}/${type.version}/${type.kind}`, type);
      // computed kinds (metrics) have nothing in storage for the collectors to walk
      if (type.computed !== undefined || byStoragePrefix.has(type.storagePrefix)) continue;
      byStoragePrefix.set(type.storagePrefix, type);
      storageTypes.push(type);
    }
    this.cached = { all, storageTypes, byResource, byAnyVersion, byKind, byStoragePrefix };
    return this.cached;
  }

  groups(): GroupVersions[] {
    const byGroup = new Map<string, Set<string>>();
    for (const type of this.all()) {
      const versions = byGroup.get(type.group) ?? new Set<string>();
      versions.add(type.version);
      byGroup.set(type.group, versions);
    }
    const order = (group: string): number => {
      const index = BUILTIN_GROUP_ORDER.indexOf(group);
      return index === -1 ? BUILTIN_GROUP_ORDER.length : index;
    };
    return [...byGroup.entries()]
      .sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b))
      .map(([group, versions]) => ({ group, versions: [...versions].sort(compareVersions) }));
  }

  resourcesOf(group: string, version: string): ResourceType[] {
    return this.all().filter((type) => type.group === group && type.version === version);
  }

  setCustomResources(crdName: string, types: ResourceType[]): void {
    this.custom.set(crdName, types);
    this.changed();
  }

  removeCustomResources(crdName: string): void {
    if (this.custom.delete(crdName)) this.changed();
  }

  customResourcesOf(crdName: string): ResourceType[] {
    return this.custom.get(crdName) ?? [];
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.generation++;
    this.cached = undefined;
    for (const listener of this.listeners) listener();
  }
}
