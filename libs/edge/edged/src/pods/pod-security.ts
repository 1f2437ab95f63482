// What a pod may ask of this gateway, and its securityContext as CRI settings. edged runs pods as root on a
// machine nobody else guards, so it honours every security setting a pod names or refuses the pod naming
// the field: a pod never runs weaker than it asked. What gives a pod the host (privileged, hostNetwork,
// hostPID/IPC, hostPath, capabilities beyond the baseline, no seccomp) is allowed only as the node's
// edgecore.yaml permits (edged.podSecurity), and nothing of it by default.
import type { Capabilities, ContainerConfig, ImageInfo, NamespaceOptions, PodSandboxConfig, SecurityProfile } from '@kedge/cri';
import { PodSetupError } from './errors';
import type { CommonSecurityContext, ContainerSpec, Pod, ProfileSpec } from './pod-spec';
import { isWithin, localDescendingPathProblem } from './safe-paths';
import { normalize } from 'node:path';

/** edged.podSecurity of edgecore.yaml. */
export interface PodSecurityPolicy {
  /** privileged containers, hostPID/hostIPC, capabilities beyond the baseline, seccomp Unconfined (default false) */
  allowPrivileged?: boolean;
  /** pods on the node's network namespace, which reach its loopback services (default false) */
  allowHostNetwork?: boolean;
  /** absolute directories hostPath volumes may name, themselves or below (default none) */
  allowedHostPaths?: string[];
}

export type RefusalReason = 'privileged' | 'hostNetwork' | 'hostNamespace' | 'hostPath' | 'capabilities' | 'seccomp' | 'unsupported' | 'unsafePath' | 'subPathEscape' | 'runAsNonRoot';

export interface Refusal {
  reason: RefusalReason;
  /** the field path, e.g. spec.containers[0].securityContext.privileged */
  field: string;
  message: string;
}

const CONFIG = 'edged.podSecurity';

// Pod Security Standards "baseline": the capabilities a pod may add without being privileged
// (the container runtime's default set).
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

/** "cap_net_admin" and "NET_ADMIN" alike become NET_ADMIN: the runtime adds the CAP_ prefix itself. */
export function capabilityName(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

function checkProfiles(context: CommonSecurityContext | undefined, path: string, policy: PodSecurityPolicy, refusals: Refusal[]): void {
  const seccomp = context?.seccompProfile;
  if (seccomp) {
    const field = `${path}.seccompProfile.type`;
    if (seccomp.type === 'Unconfined' && policy.allowPrivileged !== true)
      refusals.push({ reason: 'seccomp', field, message: `${field}: Unconfined runs the container without a seccomp filter; set ${CONFIG}.allowPrivileged: true in edgecore.yaml to allow it on this node, or use RuntimeDefault` });
    else if (seccomp.type !== 'Unconfined' && seccomp.type !== 'RuntimeDefault')
      refusals.push({ reason: 'unsupported', field, message: `${field}: "${seccomp.type ?? ''}" is not supported by edged (RuntimeDefault and Unconfined are); use RuntimeDefault` });
  }
  const appArmor = context?.appArmorProfile;
  if (appArmor && appArmor.type !== 'RuntimeDefault') {
    const field = `${path}.appArmorProfile.type`;
    refusals.push({ reason: 'unsupported', field, message: `${field}: "${appArmor.type ?? ''}" is not supported by edged (only RuntimeDefault, the runtime's own profile); remove it or use RuntimeDefault` });
  }
  if (context?.seLinuxOptions !== undefined) {
    const field = `${path}.seLinuxOptions`;
    refusals.push({ reason: 'unsupported', field, message: `${field}: SELinux labels are not supported by edged; remove seLinuxOptions` });
  }
  for (const key of ['runAsUser', 'runAsGroup'] as const) {
    const id = context?.[key];
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 2_147_483_647))
      refusals.push({ reason: 'unsupported', field: `${path}.${key}`, message: `${path}.${key}: expected an id between 0 and 2147483647, got ${String(id)}` });
  }
}

function checkContainer(container: ContainerSpec, path: string, pod: Pod, policy: PodSecurityPolicy, refusals: Refusal[]): void {
  const context = container.securityContext;
  const sc = `${path}.securityContext`;
  if (context?.privileged === true && policy.allowPrivileged !== true)
    refusals.push({ reason: 'privileged', field: `${sc}.privileged`, message: `${sc}.privileged: privileged containers have the whole gateway; set ${CONFIG}.allowPrivileged: true in edgecore.yaml to allow them on this node` });
  (context?.capabilities?.add ?? []).forEach((name, index) => {
    const capability = capabilityName(name);
    if (BASELINE_CAPABILITIES.has(capability) || policy.allowPrivileged === true) return;
    const field = `${sc}.capabilities.add[${index}]`;
    refusals.push({ reason: 'capabilities', field, message: `${field}: ${capability} is beyond the baseline capabilities; set ${CONFIG}.allowPrivileged: true in edgecore.yaml to allow it on this node` });
  });
  if (context?.allowPrivilegeEscalation === false && (context.privileged === true || (context.capabilities?.add ?? []).map(capabilityName).includes('SYS_ADMIN')))
    refusals.push({ reason: 'unsupported', field: `${sc}.allowPrivilegeEscalation`, message: `${sc}.allowPrivilegeEscalation: cannot be false for a privileged container or one with CAP_SYS_ADMIN` });
  if (context?.procMount !== undefined && context.procMount !== 'Default')
    refusals.push({ reason: 'unsupported', field: `${sc}.procMount`, message: `${sc}.procMount: "${context.procMount}" is not supported by edged; remove it or use Default` });
  checkProfiles(context, sc, policy, refusals);
  const volumes = new Set((pod.spec.volumes ?? []).map((v) => v.name));
  (container.volumeMounts ?? []).forEach((mount, index) => {
    const mp = `${path}.volumeMounts[${index}]`;
    if (!volumes.has(mount.name)) refusals.push({ reason: 'unsupported', field: `${mp}.name`, message: `${mp}.name: "${mount.name}" names no volume of the pod` });
    if (mount.subPath !== undefined && mount.subPath !== '') {
      const problem = localDescendingPathProblem(mount.subPath);
      if (problem) refusals.push({ reason: 'unsafePath', field: `${mp}.subPath`, message: `${mp}.subPath: "${mount.subPath}" ${problem}: a subPath stays inside its volume` });
    }
    if (mount.subPathExpr !== undefined && mount.subPathExpr !== '')
      refusals.push({ reason: 'unsupported', field: `${mp}.subPathExpr`, message: `${mp}.subPathExpr: not supported by edged; use subPath` });
    if (mount.mountPropagation !== undefined && mount.mountPropagation !== 'None')
      refusals.push({ reason: 'unsupported', field: `${mp}.mountPropagation`, message: `${mp}.mountPropagation: "${mount.mountPropagation}" is not supported by edged; remove it or use None` });
  });
}

/** Whether `path` (absolute, normalised) is one of the allowed dirs or below one. */
export function hostPathAllowed(path: string, allowed: readonly string[]): boolean {
  return allowed.some((dir) => isWithin(normalize(dir), path));
}

function checkItems(items: { path: string }[] | undefined, path: string, refusals: Refusal[]): void {
  (items ?? []).forEach((item, index) => {
    const problem = localDescendingPathProblem(item.path);
    const field = `${path}.items[${index}].path`;
    if (problem) refusals.push({ reason: 'unsafePath', field, message: `${field}: "${item.path}" ${problem}: an item path stays inside its volume` });
  });
}

/**
 * Everything in the pod spec this node refuses before anything of the pod runs, each naming its field and
 * what to do. Empty when the pod may run.
 */
export function admitPod(pod: Pod, policy: PodSecurityPolicy): Refusal[] {
  const refusals: Refusal[] = [];
  const spec = pod.spec;
  if (spec.hostNetwork === true && policy.allowHostNetwork !== true)
    refusals.push({
      reason: 'hostNetwork',
      field: 'spec.hostNetwork',
      message: `spec.hostNetwork: the pod would share the gateway's network and reach its loopback services; set ${CONFIG}.allowHostNetwork: true in edgecore.yaml to allow hostNetwork pods on this node`,
    });
  for (const key of ['hostPID', 'hostIPC'] as const) {
    if (spec[key] === true && policy.allowPrivileged !== true)
      refusals.push({ reason: 'hostNamespace', field: `spec.${key}`, message: `spec.${key}: the pod would share the gateway's ${key === 'hostPID' ? 'processes' : 'IPC'}; set ${CONFIG}.allowPrivileged: true in edgecore.yaml to allow it on this node` });
  }
  if (spec.hostUsers === false) refusals.push({ reason: 'unsupported', field: 'spec.hostUsers', message: 'spec.hostUsers: user namespaces are not supported by edged; remove hostUsers: false' });
  const podContext = spec.securityContext;
  checkProfiles(podContext, 'spec.securityContext', policy, refusals);
  if ((podContext?.sysctls ?? []).length > 0)
    refusals.push({ reason: 'unsupported', field: 'spec.securityContext.sysctls', message: 'spec.securityContext.sysctls: not supported by edged; remove them' });
  if (podContext?.supplementalGroupsPolicy !== undefined && podContext.supplementalGroupsPolicy !== 'Merge')
    refusals.push({
      reason: 'unsupported',
      field: 'spec.securityContext.supplementalGroupsPolicy',
      message: `spec.securityContext.supplementalGroupsPolicy: "${podContext.supplementalGroupsPolicy}" is not supported by edged (the runtime merges the image's groups); remove it or use Merge`,
    });
  for (const [index, id] of [...(podContext?.supplementalGroups ?? []), ...(podContext?.fsGroup === undefined ? [] : [podContext.fsGroup])].entries()) {
    if (!Number.isInteger(id) || id < 0 || id > 2_147_483_647) refusals.push({ reason: 'unsupported', field: 'spec.securityContext', message: `spec.securityContext: group id #${index} must be between 0 and 2147483647, got ${String(id)}` });
  }
  (spec.volumes ?? []).forEach((volume, index) => {
    const vp = `spec.volumes[${index}]`;
    if (volume.hostPath) {
      const field = `${vp}.hostPath.path`;
      const path = volume.hostPath.path;
      const problem = !path.startsWith('/') ? 'must be an absolute path' : path.split('/').includes('..') ? "must not contain '..'" : undefined;
      if (problem) refusals.push({ reason: 'hostPath', field, message: `${field}: "${path}" ${problem}` });
      else if (!hostPathAllowed(normalize(path), policy.allowedHostPaths ?? []))
        refusals.push({
          reason: 'hostPath',
          field,
          message: `${field}: "${path}" is outside the host paths this node allows (${(policy.allowedHostPaths ?? []).join(', ') || 'none'}); add its directory to ${CONFIG}.allowedHostPaths in edgecore.yaml`,
        });
    }
    checkItems(volume.configMap?.items, `${vp}.configMap`, refusals);
    checkItems(volume.secret?.items, `${vp}.secret`, refusals);
    (volume.projected?.sources ?? []).forEach((source, s) => {
      const sp = `${vp}.projected.sources[${s}]`;
      checkItems(source.configMap?.items, `${sp}.configMap`, refusals);
      checkItems(source.secret?.items, `${sp}.secret`, refusals);
      checkItems(source.downwardAPI?.items, `${sp}.downwardAPI`, refusals);
    });
  });
  (spec.initContainers ?? []).forEach((c, i) => checkContainer(c, `spec.initContainers[${i}]`, pod, policy, refusals));
  spec.containers.forEach((c, i) => checkContainer(c, `spec.containers[${i}]`, pod, policy, refusals));
  return refusals;
}

/**
 * What the node refuses of one ephemeral container: the same container rules as admitPod. Judged apart
 * from the pod, so a refused debug container leaves the running pod alone.
 */
export function admitEphemeralContainer(pod: Pod, container: ContainerSpec, policy: PodSecurityPolicy): Refusal[] {
  const refusals: Refusal[] = [];
  checkContainer(container, containerPath(pod, container), pod, policy, refusals);
  return refusals;
}

/** The field path of a container of the pod, e.g. spec.initContainers[1]. */
export function containerPath(pod: Pod, container: ContainerSpec): string {
  const init = (pod.spec.initContainers ?? []).indexOf(container);
  if (init >= 0) return `spec.initContainers[${init}]`;
  const ephemeral = (pod.spec.ephemeralContainers ?? []).indexOf(container);
  return ephemeral >= 0 ? `spec.ephemeralContainers[${ephemeral}]` : `spec.containers[${pod.spec.containers.indexOf(container)}]`;
}

function profile(spec: ProfileSpec | undefined): SecurityProfile {
  // secure by default: a pod that names no profile gets the runtime's default filter, not none
  return { profileType: spec?.type === 'Unconfined' ? 'Unconfined' : 'RuntimeDefault' };
}

function namespaces(pod: Pod): NamespaceOptions {
  return {
    network: pod.spec.hostNetwork === true ? 'NODE' : 'POD',
    pid: pod.spec.hostPID === true ? 'NODE' : pod.spec.shareProcessNamespace === true ? 'POD' : 'CONTAINER',
    ipc: pod.spec.hostIPC === true ? 'NODE' : 'POD',
  };
}

/** The fsGroup and the pod's supplementalGroups, as the groups every container gets. */
function supplementalGroups(pod: Pod): number[] {
  const context = pod.spec.securityContext;
  const groups = [...(context?.fsGroup === undefined ? [] : [context.fsGroup]), ...(context?.supplementalGroups ?? [])];
  return [...new Set(groups)];
}

type SandboxSecurity = NonNullable<NonNullable<PodSandboxConfig['linux']>['securityContext']>;
type ContainerSecurity = NonNullable<NonNullable<ContainerConfig['linux']>['securityContext']>;

export function sandboxSecurity(pod: Pod): SandboxSecurity {
  const context = pod.spec.securityContext;
  const groups = supplementalGroups(pod);
  return {
    namespaceOptions: { ...namespaces(pod), pid: pod.spec.hostPID === true ? 'NODE' : 'CONTAINER' },
    ...(context?.runAsUser === undefined ? {} : { runAsUser: context.runAsUser }),
    ...(context?.runAsGroup === undefined || context.runAsUser === undefined ? {} : { runAsGroup: context.runAsGroup }),
    ...(groups.length > 0 ? { supplementalGroups: groups } : {}),
    seccomp: profile(context?.seccompProfile),
  };
}

/**
 * The container's CRI security context: its own settings over the pod's, the image's user when neither
 * names one (as the kubelet does), and runAsNonRoot verified against the user it will really run as.
 */
export function containerSecurity(pod: Pod, container: ContainerSpec, image: ImageInfo | undefined, targetId?: string): ContainerSecurity {
  const podContext = pod.spec.securityContext;
  const own = container.securityContext;
  const runAsUser = own?.runAsUser ?? podContext?.runAsUser;
  const runAsGroup = own?.runAsGroup ?? podContext?.runAsGroup;
  const path = containerPath(pod, container);
  if ((own?.runAsNonRoot ?? podContext?.runAsNonRoot) === true) {
    if (runAsUser === 0) throw new PodSetupError('CreateContainerConfigError', `${path}: runAsUser 0 breaks runAsNonRoot; set a non-zero runAsUser`, 'runAsNonRoot');
    if (runAsUser === undefined) {
      if (image?.uid === undefined && image?.username)
        throw new PodSetupError('CreateContainerConfigError', `${path}: runAsNonRoot is set and the image has the non-numeric user "${image.username}", which edged cannot verify is not root; set runAsUser`, 'runAsNonRoot');
      if ((image?.uid ?? 0) === 0) throw new PodSetupError('CreateContainerConfigError', `${path}: runAsNonRoot is set and image "${container.image}" runs as root; set runAsUser to a non-zero id`, 'runAsNonRoot');
    }
  }
  const user: Partial<ContainerSecurity> =
    runAsUser !== undefined ? { runAsUser } : image?.uid !== undefined ? { runAsUser: image.uid } : image?.username ? { runAsUsername: image.username } : {};
  const capabilities: Capabilities | undefined = own?.capabilities && {
    addCapabilities: (own.capabilities.add ?? []).map(capabilityName),
    dropCapabilities: (own.capabilities.drop ?? []).map(capabilityName),
  };
  const privileged = own?.privileged === true;
  const groups = supplementalGroups(pod);
  const podNamespaces = namespaces(pod);
  // an ephemeral container with a target joins that container's PID namespace, as the kubelet does,
  // when the pod gives each container its own (with hostPID or shareProcessNamespace it already sees it)
  const namespaceOptions = targetId !== undefined && podNamespaces.pid === 'CONTAINER' ? { ...podNamespaces, pid: 'TARGET' as const, targetId } : podNamespaces;
  return {
    namespaceOptions,
    ...user,
    // the runtime refuses a group without a user: the image's user (root when it names none) then
    ...(runAsGroup === undefined ? {} : { runAsGroup, ...(user.runAsUser === undefined && user.runAsUsername === undefined ? { runAsUser: 0 } : {}) }),
    ...(groups.length > 0 ? { supplementalGroups: groups } : {}),
    ...(capabilities ? { capabilities } : {}),
    privileged,
    readonlyRootfs: own?.readOnlyRootFilesystem === true,
    // the kubelet's rule: escalation stays possible unless the container says false
    noNewPrivs: !privileged && own?.allowPrivilegeEscalation === false,
    seccomp: profile(own?.seccompProfile ?? podContext?.seccompProfile),
  };
}
