// Which configmaps and secrets a pod needs: env valueFrom, envFrom, volumes (configMap, secret,
// projected sources) and imagePullSecrets, in init, regular and ephemeral containers.
import type { KubeObject } from '@kedge/kube-core';

export interface PodReferences {
  configMaps: Set<string>;
  secrets: Set<string>;
}

type Json = Record<string, unknown>;

function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(record).filter((r): r is Json => r !== undefined) : [];
}

function nameIn(value: unknown, field = 'name'): string | undefined {
  const name = record(value)?.[field];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function add(target: Set<string>, name: string | undefined): void {
  if (name !== undefined) target.add(name);
}

export function podReferences(pod: KubeObject): PodReferences {
  const refs: PodReferences = { configMaps: new Set(), secrets: new Set() };
  const spec = record(pod['spec']);
  if (spec === undefined) return refs;
  const containers = [...records(spec['initContainers']), ...records(spec['containers']), ...records(spec['ephemeralContainers'])];
  for (const container of containers) {
    for (const env of records(container['env'])) {
      const from = record(env['valueFrom']);
      add(refs.configMaps, nameIn(from?.['configMapKeyRef']));
      add(refs.secrets, nameIn(from?.['secretKeyRef']));
    }
    for (const envFrom of records(container['envFrom'])) {
      add(refs.configMaps, nameIn(envFrom['configMapRef']));
      add(refs.secrets, nameIn(envFrom['secretRef']));
    }
  }
  for (const volume of records(spec['volumes'])) {
    add(refs.configMaps, nameIn(volume['configMap']));
    add(refs.secrets, nameIn(volume['secret'], 'secretName'));
    for (const source of records(record(volume['projected'])?.['sources'])) {
      add(refs.configMaps, nameIn(source['configMap']));
      add(refs.secrets, nameIn(source['secret']));
    }
  }
  for (const pullSecret of records(spec['imagePullSecrets'])) add(refs.secrets, nameIn(pullSecret));
  return refs;
}
