// The CRI sandbox and container configs of a pod: labels that identify the pod for adoption and GC,
// the network mode (node or CNI), log paths, and per-container env, mounts and limits.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ContainerConfig, EnvVar, ImageInfo, PodSandboxConfig } from '@kedge/cri';
import { CONTAINER_HASH_ANNOTATION, CONTAINER_NAME_LABEL, podLabels, RESTART_COUNT_ANNOTATION } from './labels';
import type { ContainerSpec, Pod } from './pod-spec';
import { containerMounts, linuxResources, type PreparedVolume } from './env-volumes';
import { containerSecurity, sandboxSecurity } from './pod-security';

export function sandboxConfig(pod: Pod, podsDir: string, attempt: number): PodSandboxConfig {
  const hostNetwork = pod.spec.hostNetwork === true;
  return {
    metadata: { name: pod.metadata.name, uid: pod.metadata.uid, namespace: pod.metadata.namespace, attempt },
    // a pod on the node's network keeps the node's hostname, as in Kubernetes
    ...(hostNetwork ? {} : { hostname: pod.metadata.name.slice(0, 63) }),
    logDirectory: join(podsDir, pod.metadata.uid, 'logs'),
    labels: podLabels(pod),
    annotations: {},
    linux: { securityContext: sandboxSecurity(pod) },
  };
}

/**
 * A hash of what the running container was made from. Probes and resources are left out: changing them
 * must not restart the container (the kubelet's hash leaves resources out for the same reason).
 */
export function containerHash(container: ContainerSpec): string {
  const { image, command, args, workingDir, env, envFrom, volumeMounts, ports, stdin, stdinOnce, tty, securityContext } = container;
  // securityContext only when set, so containers made before edged honoured it keep their hash
  const text = JSON.stringify({ image, command, args, workingDir, env, envFrom, volumeMounts, ports, stdin, stdinOnce, tty, securityContext });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export interface ContainerInputs {
  envs: EnvVar[];
  volumes: Map<string, PreparedVolume>;
  /** mount index to the bind mount of its checked subPath */
  subPaths?: Map<number, string>;
  /** the image's status, for its user */
  image?: ImageInfo;
  /** ephemeral containers: the runtime id of the target container, whose PID namespace it joins */
  targetId?: string;
}

export function containerConfig(pod: Pod, container: ContainerSpec, restartCount: number, inputs: ContainerInputs): ContainerConfig {
  return {
    metadata: { name: container.name, attempt: restartCount },
    image: container.image,
    ...(container.command ? { command: container.command } : {}),
    ...(container.args ? { args: container.args } : {}),
    ...(container.workingDir ? { workingDir: container.workingDir } : {}),
    envs: inputs.envs,
    mounts: containerMounts(container, inputs.volumes, inputs.subPaths),
    labels: { ...podLabels(pod), [CONTAINER_NAME_LABEL]: container.name },
    annotations: { [RESTART_COUNT_ANNOTATION]: String(restartCount), [CONTAINER_HASH_ANNOTATION]: containerHash(container) },
    logPath: `${container.name}/${restartCount}.log`,
    stdin: container.stdin === true,
    stdinOnce: container.stdinOnce === true,
    tty: container.tty === true,
    linux: { resources: linuxResources(container), securityContext: containerSecurity(pod, container, inputs.image, inputs.targetId) },
  };
}
