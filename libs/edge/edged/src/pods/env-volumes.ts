// Resolves a container's environment, volumes and resource limits from the local store, so a pod starts
// with its configmaps and secrets even while the cloud is unreachable.
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ContainerMount, EnvVar, LinuxContainerResources } from '@kedge/cri';
import type { MetaStore } from '@kedge/metamanager';
import { PodSetupError } from './errors';
import type { ContainerSpec, ItemSpec, Pod } from './pod-spec';

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
    default:
      throw new PodSetupError('CreateContainerConfigError', `unsupported fieldRef ${path}`);
  }
}

export function resolveEnv(store: MetaStore, pod: Pod, container: ContainerSpec, fields: FieldValues): EnvVar[] {
  const env = new Map<string, string>();
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

export function volumeDir(podsDir: string, pod: Pod, name: string): string {
  return join(podsDir, pod.metadata.uid, 'volumes', name);
}

// Kubernetes' default for configMap, secret and projected volume files (defaultMode 420)
const DEFAULT_FILE_MODE = 0o644;

function writeItems(dir: string, data: Record<string, string>, items: ItemSpec[] | undefined, defaultMode = DEFAULT_FILE_MODE): void {
  const entries = items
    ? items.filter((item) => data[item.key] !== undefined).map((item) => [item.path, data[item.key] ?? '', item.mode ?? defaultMode] as const)
    : Object.entries(data).map(([path, content]) => [path, content, defaultMode] as const);
  for (const [path, content, mode] of entries) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    // explicitly, so the umask of edgecore does not decide what the container may read
    chmodSync(file, mode);
  }
}

/**
 * Writes every volume of the pod under <podsDir>/<uid>/volumes/<name> (hostPath volumes are the host's own
 * dir) and returns the host dir of each volume by name. Data volumes are rewritten each time, so a changed
 * configmap reaches the next container start.
 */
export function prepareVolumes(store: MetaStore, pod: Pod, podsDir: string, fields: FieldValues): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const volume of pod.spec.volumes ?? []) {
    if (volume.hostPath) {
      mkdirSync(volume.hostPath.path, { recursive: true });
      dirs.set(volume.name, volume.hostPath.path);
      continue;
    }
    const dir = volumeDir(podsDir, pod, volume.name);
    if (volume.emptyDir) {
      mkdirSync(dir, { recursive: true });
    } else {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (volume.configMap) {
        const data = requireData(store, 'configmap', pod, volume.configMap.name, volume.configMap.optional) ?? {};
        writeItems(dir, data, volume.configMap.items, volume.configMap.defaultMode);
      } else if (volume.secret) {
        writeItems(dir, requireData(store, 'secret', pod, volume.secret.secretName, volume.secret.optional) ?? {}, volume.secret.items, volume.secret.defaultMode);
      } else if (volume.projected) {
        const { defaultMode } = volume.projected;
        for (const source of volume.projected.sources ?? []) {
          if (source.configMap) writeItems(dir, requireData(store, 'configmap', pod, source.configMap.name, source.configMap.optional) ?? {}, source.configMap.items, defaultMode);
          if (source.secret) writeItems(dir, requireData(store, 'secret', pod, source.secret.name, source.secret.optional) ?? {}, source.secret.items, defaultMode);
          for (const item of source.downwardAPI?.items ?? []) {
            if (!item.fieldRef) continue;
            const value = fieldValue(pod, item.fieldRef.fieldPath, fields);
            writeItems(dir, { v: value }, [{ key: 'v', path: item.path, ...(item.mode === undefined ? {} : { mode: item.mode }) }], defaultMode);
          }
        }
      }
    }
    dirs.set(volume.name, dir);
  }
  return dirs;
}

export function containerMounts(container: ContainerSpec, volumeDirs: Map<string, string>): ContainerMount[] {
  return (container.volumeMounts ?? []).map((mount) => {
    const hostDir = volumeDirs.get(mount.name);
    if (hostDir === undefined) throw new PodSetupError('CreateContainerConfigError', `volumeMount "${mount.name}" names no volume of the pod`);
    return { containerPath: mount.mountPath, hostPath: mount.subPath ? join(hostDir, mount.subPath) : hostDir, readonly: mount.readOnly ?? false };
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
