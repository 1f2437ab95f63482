// Resolves a container's environment, volumes and resource limits from the local store, so a pod starts
// with its configmaps and secrets even while the cloud is unreachable.
import { chmodSync, closeSync, existsSync, lchownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import type { ContainerMount, EnvVar, LinuxContainerResources } from '@kedge/cri';
import type { MetaStore } from '@kedge/metamanager';
import { PodSetupError } from './errors';
import type { ContainerSpec, ItemSpec, Pod, VolumeSpec } from './pod-spec';
import { containerPath } from './pod-security';
import { bindMountOpened, isWithin, localDescendingPathProblem, openBeneath, UnsafePathError } from './safe-paths';

export interface FieldValues {
  podIP: string;
  hostIP: string;
  nodeName: string;
}

type DataKind = 'configmap' | 'secret';

/** The decoded data of a configmap or secret (secrets are base64 in the object), or undefined if absent. */
function readData(store: MetaStore, kind: DataKind, namespace: string, name: string): Record<string, string> | undefined {
  const stored = store.get(kind, namespace, name);
  if (!stored) return undefined;
  const data = (stored.object['data'] ?? {}) as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) out[key] = kind === 'secret' ? Buffer.from(value, 'base64').toString('utf8') : value;
  if (kind === 'secret') {
    for (const [key, value] of Object.entries((stored.object['stringData'] ?? {}) as Record<string, string>)) out[key] = value;
  }
  return out;
}

function requireData(store: MetaStore, kind: DataKind, pod: Pod, name: string, optional: boolean | undefined): Record<string, string> | undefined {
  const data = readData(store, kind, pod.metadata.namespace, name);
  if (!data && !optional) throw new PodSetupError('CreateContainerConfigError', `${kind} "${name}" not found in the local store`);
  return data;
}

function fieldValue(pod: Pod, path: string, fields: FieldValues): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return fields.nodeName;
    case 'status.podIP':
      return fields.podIP;
    case 'status.hostIP':
      return fields.hostIP;
    default: {
      // metadata.labels['key'] and metadata.annotations['key'], as the kubelet (an Indexed Job's JOB_COMPLETION_INDEX)
      const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
      if (keyed !== null) {
        const map = keyed[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
        return map?.[keyed[2] ?? ''] ?? '';
      }
      throw new PodSetupError('CreateContainerConfigError', `unsupported fieldRef ${path}`);
    }
  }
}

/** @param serviceVars the kubelet's service variables (service-env.ts): the container's own env overrides them */
export function resolveEnv(store: MetaStore, pod: Pod, container: ContainerSpec, fields: FieldValues, serviceVars: readonly EnvVar[] = []): EnvVar[] {
  const env = new Map<string, string>(serviceVars.map(({ key, value }) => [key, value]));
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    const data = source.configMapRef
      ? requireData(store, 'configmap', pod, source.configMapRef.name, source.configMapRef.optional)
      : source.secretRef
        ? requireData(store, 'secret', pod, source.secretRef.name, source.secretRef.optional)
        : undefined;
    for (const [key, value] of Object.entries(data ?? {})) env.set(prefix + key, value);
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env.set(variable.name, variable.value ?? '');
      continue;
    }
    const ref = from.configMapKeyRef ?? from.secretKeyRef;
    if (ref) {
      const kind: DataKind = from.configMapKeyRef ? 'configmap' : 'secret';
      const value = requireData(store, kind, pod, ref.name ?? '', ref.optional)?.[ref.key];
      if (value === undefined && !ref.optional) throw new PodSetupError('CreateContainerConfigError', `key "${ref.key}" not found in ${kind} "${ref.name ?? ''}"`);
      if (value !== undefined) env.set(variable.name, value);
    } else if (from.fieldRef) {
      env.set(variable.name, fieldValue(pod, from.fieldRef.fieldPath, fields));
    }
  }
  return [...env].map(([key, value]) => ({ key, value }));
}

export function podDir(podsDir: string, pod: Pod): string {
  return join(podsDir, pod.metadata.uid);
}

export function volumeDir(podsDir: string, pod: Pod, name: string): string {
  return join(podDir(podsDir, pod), 'volumes', name);
}

/** A volume as containers mount it: the host path the runtime gets, and whether it is read-only whatever the mount says. */
export interface PreparedVolume {
  hostPath: string;
  /** configMap, secret and projected volumes: edged writes them, containers only read them */
  readOnly: boolean;
}

// Kubernetes' default for configMap, secret and projected volume files (defaultMode 420). Secrets keep it
// as upstream does: what keeps them from the gateway's other users is the pod dir, 0700.
const DEFAULT_FILE_MODE = 0o644;
// upstream accepts 0..0777 only: setuid, setgid and sticky bits never reach a file edged writes as root
const MODE_MASK = 0o777;

interface ItemFile {
  path: string;
  content: string;
  mode: number;
  /** the field the path came from, for the refusal */
  field: string;
}

function writeItems(dir: string, files: ItemFile[], fsGroup: number | undefined): void {
  for (const { path, content, mode, field } of files) {
    const problem = localDescendingPathProblem(path);
    if (problem) throw new PodSetupError('CreateContainerConfigError', `${field}: "${path}" ${problem}: a volume file stays inside its volume`, 'unsafePath');
    const file = join(dir, path);
    if (!isWithin(dir, file)) throw new PodSetupError('CreateContainerConfigError', `${field}: "${path}" leaves its volume`, 'unsafePath');
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    // the dir is new and only edged writes it (containers mount it read-only): exclusive create, no symlink followed
    rmSync(file, { force: true });
    writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
    // explicitly, so the umask of edgecore does not decide what the container may read
    chmodSync(file, (mode & MODE_MASK) | (fsGroup === undefined ? 0 : 0o440));
    if (fsGroup !== undefined) {
      lchownSync(file, 0, fsGroup);
      for (let parent = dirname(file); isWithin(dir, parent); parent = dirname(parent)) lchownSync(parent, 0, fsGroup);
    }
  }
}

function itemFiles(data: Record<string, string>, items: ItemSpec[] | undefined, defaultMode: number | undefined, field: string, source: string): ItemFile[] {
  const mode = defaultMode ?? DEFAULT_FILE_MODE;
  if (items)
    return items
      .map((item, index) => ({ item, index }))
      .filter(({ item }) => data[item.key] !== undefined)
      .map(({ item, index }) => ({ path: item.path, content: data[item.key] ?? '', mode: item.mode ?? mode, field: `${field}.items[${index}].path` }));
  return Object.entries(data).map(([key, content]) => ({ path: key, content, mode, field: `${source} key "${key}"` }));
}

/** A pod's own dirs: not readable by the gateway's other users (secrets are written below). */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function prepareHostPath(volume: VolumeSpec & { hostPath: { path: string; type?: string } }, index: number, pod: Pod, podsDir: string, allowedHostPaths: readonly string[]): string {
  const field = `spec.volumes[${index}].hostPath.path`;
  const path = normalize(volume.hostPath.path);
  const root = allowedHostPaths.map((dir) => normalize(dir)).find((dir) => isWithin(dir, path));
  if (root === undefined) throw new PodSetupError('CreateContainerConfigError', `${field}: "${volume.hostPath.path}" is outside edged.podSecurity.allowedHostPaths`, 'hostPath');
  const type = volume.hostPath.type ?? '';
  const create = type === '' || type === 'DirectoryOrCreate';
  if (create) mkdirSync(root, { recursive: true });
  let opened;
  try {
    opened = openBeneath(root, relative(root, path) || '.', { create, what: field });
  } catch (error) {
    if (error instanceof UnsafePathError) throw new PodSetupError('CreateContainerConfigError', `${error.message}: refused, a hostPath stays inside the allowed dir ${root}`, 'subPathEscape');
    throw new PodSetupError('CreateContainerConfigError', `${field}: "${volume.hostPath.path}" cannot be opened: ${(error as Error).message}`);
  }
  try {
    const kind = opened.stats.isDirectory() ? 'Directory' : opened.stats.isFile() ? 'File' : 'Socket';
    if (type !== '' && type !== kind && type !== `${kind}OrCreate`) throw new PodSetupError('CreateContainerConfigError', `${field}: "${volume.hostPath.path}" is a ${kind}, not the ${type} spec.volumes[${index}].hostPath.type asks for`);
    const target = join(podDir(podsDir, pod), 'volume-hostpaths', volume.name);
    bindMountOpened(opened, target);
    return target;
  } finally {
    closeSync(opened.fd);
  }
}

/**
 * Writes every volume of the pod under <podsDir>/<uid>/volumes/<name> and returns each by name. Data volumes
 * are rewritten each time, so a changed configmap reaches the next container start. A hostPath volume is
 * opened below its allowed dir without following symlinks out of it and bind-mounted at
 * <podsDir>/<uid>/volume-hostpaths/<name>, which the runtime mounts.
 */
/**
 * What the pod's API access volumes hold on this node: the CA MetaServer's certificate chains to (it
 * replaces `kube-root-ca.crt`: pods reach MetaServer, not the cloud API server), and the projected
 * ServiceAccount tokens edged fetched before, by `<volume>/<path>` (see tokenKey).
 */
export interface ApiAccessFiles {
  caPem: string;
  tokens: ReadonlyMap<string, string>;
}

export const KUBE_ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

export function tokenKey(volumeName: string, path: string): string {
  return `${volumeName}/${path}`;
}

function configMapData(store: MetaStore, pod: Pod, name: string, optional: boolean | undefined, api: ApiAccessFiles | undefined): Record<string, string> | undefined {
  if (name === KUBE_ROOT_CA_CONFIGMAP && api !== undefined) return { 'ca.crt': api.caPem };
  // without API access on this node, a missing kube-root-ca.crt (the embedded API server publishes none) does not keep the pod from starting
  return requireData(store, 'configmap', pod, name, optional === true || name === KUBE_ROOT_CA_CONFIGMAP);
}

export function prepareVolumes(store: MetaStore, pod: Pod, podsDir: string, fields: FieldValues, allowedHostPaths: readonly string[] = [], api?: ApiAccessFiles): Map<string, PreparedVolume> {
  const volumes = new Map<string, PreparedVolume>();
  const fsGroup = pod.spec.securityContext?.fsGroup;
  ensurePrivateDir(podDir(podsDir, pod));
  ensurePrivateDir(join(podDir(podsDir, pod), 'volumes'));
  (pod.spec.volumes ?? []).forEach((volume, index) => {
    if (volume.hostPath) {
      volumes.set(volume.name, { hostPath: prepareHostPath({ ...volume, hostPath: volume.hostPath }, index, pod, podsDir, allowedHostPaths), readOnly: false });
      return;
    }
    const dir = volumeDir(podsDir, pod, volume.name);
    const field = `spec.volumes[${index}]`;
    if (!volume.configMap && !volume.secret && !volume.projected) {
      // emptyDir (and volume kinds edged does not know, as before): shared by the pod's containers, 0777 as
      // upstream so any user of the pod writes it; with an fsGroup the group owns it and new files inherit it
      if (!existsSync(dir)) {
        mkdirSync(dir, { mode: 0o777 });
        if (fsGroup !== undefined) lchownSync(dir, 0, fsGroup);
        chmodSync(dir, fsGroup === undefined ? 0o777 : 0o2777);
      }
      volumes.set(volume.name, { hostPath: dir, readOnly: false });
      return;
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    if (fsGroup !== undefined) lchownSync(dir, 0, fsGroup);
    const files: ItemFile[] = [];
    if (volume.configMap) {
      const data = configMapData(store, pod, volume.configMap.name, volume.configMap.optional, api) ?? {};
      files.push(...itemFiles(data, volume.configMap.items, volume.configMap.defaultMode, `${field}.configMap`, `configmap "${volume.configMap.name}"`));
    } else if (volume.secret) {
      const data = requireData(store, 'secret', pod, volume.secret.secretName, volume.secret.optional) ?? {};
      files.push(...itemFiles(data, volume.secret.items, volume.secret.defaultMode, `${field}.secret`, `secret "${volume.secret.secretName}"`));
    } else if (volume.projected) {
      const { defaultMode } = volume.projected;
      (volume.projected.sources ?? []).forEach((source, s) => {
        const sp = `${field}.projected.sources[${s}]`;
        if (source.configMap)
          files.push(...itemFiles(configMapData(store, pod, source.configMap.name, source.configMap.optional, api) ?? {}, source.configMap.items, defaultMode, `${sp}.configMap`, `configmap "${source.configMap.name}"`));
        if (source.secret)
          files.push(...itemFiles(requireData(store, 'secret', pod, source.secret.name, source.secret.optional) ?? {}, source.secret.items, defaultMode, `${sp}.secret`, `secret "${source.secret.name}"`));
        (source.downwardAPI?.items ?? []).forEach((item, i) => {
          if (!item.fieldRef) return;
          files.push({ path: item.path, content: fieldValue(pod, item.fieldRef.fieldPath, fields), mode: item.mode ?? defaultMode ?? DEFAULT_FILE_MODE, field: `${sp}.downwardAPI.items[${i}].path` });
        });
        const token = source.serviceAccountToken;
        // without API access on this node there is no token to give (and no API to use it with)
        const value = token === undefined ? undefined : api?.tokens.get(tokenKey(volume.name, token.path));
        if (token !== undefined && value !== undefined) files.push({ path: token.path, content: value, mode: defaultMode ?? DEFAULT_FILE_MODE, field: `${sp}.serviceAccountToken.path` });
      });
    }
    writeItems(dir, files, fsGroup);
    volumes.set(volume.name, { hostPath: dir, readOnly: true });
  });
  return volumes;
}

/**
 * Opens each subPath of the container below its volume without following symlinks out of it, and
 * bind-mounts what it opened at <podsDir>/<uid>/volume-subpaths/<volume>/<container>/<index>: the path the
 * runtime gets, which a container cannot change. Returns the mount index to that path.
 */
export function prepareSubPaths(pod: Pod, container: ContainerSpec, volumes: Map<string, PreparedVolume>, podsDir: string): Map<number, string> {
  const sources = new Map<number, string>();
  const path = containerPath(pod, container);
  (container.volumeMounts ?? []).forEach((mount, index) => {
    if (!mount.subPath) return;
    const field = `${path}.volumeMounts[${index}].subPath`;
    const volume = volumes.get(mount.name);
    if (volume === undefined) throw new PodSetupError('CreateContainerConfigError', `${path}.volumeMounts[${index}].name: "${mount.name}" names no volume of the pod`);
    let opened;
    try {
      // the kubelet creates a missing subPath dir; never in a data volume, which edged alone writes
      opened = openBeneath(volume.hostPath, mount.subPath, { create: !volume.readOnly, what: field });
    } catch (error) {
      if (error instanceof UnsafePathError) throw new PodSetupError('CreateContainerConfigError', `${error.message}: refused, a subPath stays inside its volume`, 'subPathEscape');
      throw new PodSetupError('CreateContainerConfigError', `${field}: "${mount.subPath}" cannot be opened in volume "${mount.name}": ${(error as Error).message}`);
    }
    try {
      const target = join(podDir(podsDir, pod), 'volume-subpaths', mount.name, container.name, String(index));
      bindMountOpened(opened, target);
      sources.set(index, target);
    } finally {
      closeSync(opened.fd);
    }
  });
  return sources;
}

export function containerMounts(container: ContainerSpec, volumes: Map<string, PreparedVolume>, subPaths: Map<number, string> = new Map()): ContainerMount[] {
  return (container.volumeMounts ?? []).map((mount, index) => {
    const volume = volumes.get(mount.name);
    if (volume === undefined) throw new PodSetupError('CreateContainerConfigError', `volumeMount "${mount.name}" names no volume of the pod`);
    const subPath = subPaths.get(index);
    if (mount.subPath && subPath === undefined) throw new PodSetupError('CreateContainerConfigError', `volumeMount "${mount.name}" has a subPath that was not prepared`);
    return { containerPath: mount.mountPath, hostPath: subPath ?? volume.hostPath, readonly: (mount.readOnly ?? false) || volume.readOnly };
  });
}

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL_SUFFIX: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

/** A Kubernetes quantity ("500m", "64Mi", "1.5", "1G") as a number of base units. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([0-9.]+)([A-Za-z]*)$/.exec(quantity.trim());
  const suffix = match?.[2] ?? '';
  const factor = suffix === '' ? 1 : (BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix]);
  if (!match || factor === undefined) throw new PodSetupError('CreateContainerConfigError', `cannot read quantity "${quantity}"`);
  return Number(match[1]) * factor;
}

const CPU_PERIOD_US = 100_000;

/** cpu/memory limits and cpu requests as cgroup settings, computed as the kubelet does. */
export function linuxResources(container: ContainerSpec): LinuxContainerResources {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const resources: LinuxContainerResources = {};
  const cpuLimit = limits['cpu'];
  if (cpuLimit !== undefined) {
    resources.cpuPeriod = CPU_PERIOD_US;
    resources.cpuQuota = Math.max(1000, Math.round(parseQuantity(cpuLimit) * CPU_PERIOD_US));
  }
  const cpuRequest = requests['cpu'] ?? cpuLimit;
  resources.cpuShares = cpuRequest === undefined ? 2 : Math.max(2, Math.round(parseQuantity(cpuRequest) * 1024));
  const memoryLimit = limits['memory'];
  if (memoryLimit !== undefined) resources.memoryLimitInBytes = Math.round(parseQuantity(memoryLimit));
  return resources;
}
