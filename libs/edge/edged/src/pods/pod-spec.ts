// The slice of core/v1 Pod that edged reads. Kept loose (optional everywhere) because the object comes
// from the cloud through the store as plain JSON; edged must cope with fields it does not know.
import type { KubeObject } from '@kedge/kube-core';

export interface KeyRef {
  name?: string;
  key: string;
  optional?: boolean;
}

export interface EnvVarSpec {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
    fieldRef?: { fieldPath: string };
  };
}

export interface EnvFromSpec {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface ProbeSpec {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  tcpSocket?: { port: number | string; host?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVarSpec[];
  envFrom?: EnvFromSpec[];
  ports?: { name?: string; containerPort: number; protocol?: string; hostPort?: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string; subPathExpr?: string; mountPropagation?: string }[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
  /** for `kubectl attach -i[t]`: the container keeps a stdin (and a terminal) open */
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  securityContext?: ContainerSecurityContext;
  /** ephemeral containers only: the container whose process namespace this one joins */
  targetContainerName?: string;
}

/** A seccomp or AppArmor profile as a pod spec names it. */
export interface ProfileSpec {
  type?: string;
  localhostProfile?: string;
}

/** The fields both the pod's and a container's securityContext have; the container's win. */
export interface CommonSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  seccompProfile?: ProfileSpec;
  appArmorProfile?: ProfileSpec;
  seLinuxOptions?: Record<string, unknown>;
  windowsOptions?: Record<string, unknown>;
}

export interface ContainerSecurityContext extends CommonSecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  procMount?: string;
}

export interface PodSecurityContext extends CommonSecurityContext {
  supplementalGroups?: number[];
  supplementalGroupsPolicy?: string;
  fsGroup?: number;
  fsGroupChangePolicy?: string;
  seLinuxChangePolicy?: string;
  sysctls?: { name: string; value: string }[];
}

export interface ItemSpec {
  key: string;
  path: string;
  /** file mode bits (e.g. 0o400); default: the volume's defaultMode */
  mode?: number;
}

export interface VolumeSpec {
  name: string;
  emptyDir?: Record<string, unknown>;
  hostPath?: { path: string; type?: string };
  /** defaultMode: mode bits of the files without their own mode (Kubernetes: 0o644) */
  configMap?: { name: string; items?: ItemSpec[]; optional?: boolean; defaultMode?: number };
  secret?: { secretName: string; items?: ItemSpec[]; optional?: boolean; defaultMode?: number };
  projected?: {
    defaultMode?: number;
    sources?: {
      configMap?: { name: string; items?: ItemSpec[]; optional?: boolean };
      secret?: { name: string; items?: ItemSpec[]; optional?: boolean };
      downwardAPI?: { items?: { path: string; fieldRef?: { fieldPath: string }; mode?: number }[] };
      serviceAccountToken?: ServiceAccountTokenProjection;
    }[];
  };
}

/** A projected ServiceAccount token (upstream's ServiceAccountTokenProjection). */
export interface ServiceAccountTokenProjection {
  audience?: string;
  /** default 3600, at least 600 */
  expirationSeconds?: number;
  path: string;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PodSpec {
  nodeName?: string;
  /** default 'default' */
  serviceAccountName?: string;
  /** default true: docker-link style variables for the Services of the pod's namespace */
  enableServiceLinks?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  /** false asks for a user namespace */
  hostUsers?: boolean;
  shareProcessNamespace?: boolean;
  securityContext?: PodSecurityContext;
  restartPolicy?: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  initContainers?: ContainerSpec[];
  containers: ContainerSpec[];
  /** added to a running pod through pods/ephemeralcontainers (kubectl debug); started once, never restarted */
  ephemeralContainers?: ContainerSpec[];
  volumes?: VolumeSpec[];
}

export interface Pod extends KubeObject {
  metadata: KubeObject['metadata'] & { name: string; uid: string; namespace: string; deletionGracePeriodSeconds?: number };
  spec: PodSpec;
}

/** A pod object from the store, or undefined when it lacks what edged needs to run it. */
export function asPod(object: KubeObject): Pod | undefined {
  const spec = object['spec'] as PodSpec | undefined;
  if (!spec || !Array.isArray(spec.containers) || !object.metadata.name || !object.metadata.uid || !object.metadata.namespace) return undefined;
  return object as Pod;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
