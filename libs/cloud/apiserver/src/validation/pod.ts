// Pod spec checks kubectl users hit first (upstream pkg/apis/core/validation, much reduced):
// containers, ports, env, volume mounts, volumes and the enum-valued policy fields.
import type { FieldError } from './field-error';
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, pathChild, pathIndex } from './field-error';
import { validateEphemeralContainers } from './ephemeral-containers';
import { dns1123LabelProblems, dns1123SubdomainProblems, portNameProblems } from './names';
import { validateLabels } from './object-meta';
import type { JsonObject } from '../json';
import { readArray, readBoolean, readInteger, readObject, readRequiredString, readString } from './read';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];

/** Ports: 0 means unset (Required when `required`); otherwise `must be between 1 and 65535, inclusive`. */
export function checkPort(value: unknown, path: string, errs: FieldError[], required: boolean): number | undefined {
  if (value === undefined || value === null) {
    if (required) errs.push(fieldRequired(path));
    return undefined;
  }
  const port = readInteger(value, path, errs);
  if (port === 0 && required) errs.push(fieldRequired(path));
  else if (port !== undefined && port !== 0 && (port < 1 || port > 65535))
    errs.push(fieldInvalid(path, port, 'must be between 1 and 65535, inclusive'));
  return port;
}

export function checkEnum(value: unknown, path: string, allowed: readonly string[], errs: FieldError[]): void {
  const v = readString(value, path, errs);
  if (v !== undefined && !allowed.includes(v)) errs.push(fieldNotSupported(path, v, allowed));
}

// Paths a pod names below a volume (upstream validateLocalDescendingPath): relative, no '..' element. On
// a gateway edged runs pods as root, so a path that climbs out of its volume reaches the host.
export function checkLocalDescendingPath(value: string, path: string, errs: FieldError[]): void {
  if (value.startsWith('/')) errs.push(fieldInvalid(path, value, 'must be a relative path'));
  if (value.split('/').includes('..')) errs.push(fieldInvalid(path, value, "must not contain '..'"));
}

const VOLUME_MODE_MESSAGE = 'must be a number between 0 and 0777 (octal), both inclusive';

/** defaultMode and items[].mode: upstream accepts 0..0777 only (no setuid, setgid or sticky bits). */
function checkVolumeMode(value: unknown, path: string, errs: FieldError[]): void {
  const mode = readInteger(value, path, errs);
  if (mode !== undefined && (mode < 0 || mode > 0o777)) errs.push(fieldInvalid(path, mode, VOLUME_MODE_MESSAGE));
}

/** items of configMap, secret and projected sources (upstream validateKeyToPath / validateLocalNonReservedPath). */
function checkItems(value: unknown, path: string, errs: FieldError[], keyed: boolean): void {
  (readArray(value, path, errs) ?? []).forEach((entry, i) => {
    const p = pathIndex(path, i);
    const item = readObject(entry, p, errs);
    if (!item) return;
    if (keyed) readRequiredString(item, 'key', pathChild(p, 'key'), errs);
    const itemPath = readRequiredString(item, 'path', pathChild(p, 'path'), errs);
    if (itemPath !== undefined) {
      checkLocalDescendingPath(itemPath, pathChild(p, 'path'), errs);
      if (itemPath.startsWith('..')) errs.push(fieldInvalid(pathChild(p, 'path'), itemPath, "must not start with '..'"));
    }
    checkVolumeMode(item['mode'], pathChild(p, 'mode'), errs);
  });
}

function checkVolumeSource(volume: JsonObject, path: string, errs: FieldError[]): void {
  for (const kind of ['configMap', 'secret'] as const) {
    const source = readObject(volume[kind], pathChild(path, kind), errs);
    if (!source) continue;
    checkVolumeMode(source['defaultMode'], pathChild(pathChild(path, kind), 'defaultMode'), errs);
    checkItems(source['items'], pathChild(pathChild(path, kind), 'items'), errs, true);
  }
  const projectedPath = pathChild(path, 'projected');
  const projected = readObject(volume['projected'], projectedPath, errs);
  if (projected) {
    checkVolumeMode(projected['defaultMode'], pathChild(projectedPath, 'defaultMode'), errs);
    (readArray(projected['sources'], pathChild(projectedPath, 'sources'), errs) ?? []).forEach((entry, i) => {
      const sp = pathIndex(pathChild(projectedPath, 'sources'), i);
      const source = readObject(entry, sp, errs);
      if (!source) return;
      for (const kind of ['configMap', 'secret', 'downwardAPI'] as const) {
        const inner = readObject(source[kind], pathChild(sp, kind), errs);
        if (inner) checkItems(inner['items'], pathChild(pathChild(sp, kind), 'items'), errs, kind !== 'downwardAPI');
      }
    });
  }
  const downwardPath = pathChild(path, 'downwardAPI');
  const downward = readObject(volume['downwardAPI'], downwardPath, errs);
  if (downward) {
    checkVolumeMode(downward['defaultMode'], pathChild(downwardPath, 'defaultMode'), errs);
    checkItems(downward['items'], pathChild(downwardPath, 'items'), errs, false);
  }
  const hostPathPath = pathChild(path, 'hostPath');
  const hostPath = readObject(volume['hostPath'], hostPathPath, errs);
  if (hostPath) {
    const value = readRequiredString(hostPath, 'path', pathChild(hostPathPath, 'path'), errs);
    // upstream validatePathNoBacksteps
    if (value !== undefined && value.split('/').includes('..')) errs.push(fieldInvalid(pathChild(hostPathPath, 'path'), value, "must not contain '..'"));
  }
}

function checkLabelName(value: string, path: string, errs: FieldError[]): void {
  for (const p of dns1123LabelProblems(value)) errs.push(fieldInvalid(path, value, p));
}

export function validateContainer(c: JsonObject, path: string, names: Set<string>, errs: FieldError[]): void {
  const namePath = pathChild(path, 'name');
  const name = readRequiredString(c, 'name', namePath, errs);
  if (name) {
    checkLabelName(name, namePath, errs);
    if (names.has(name)) errs.push(fieldDuplicate(namePath, name));
    names.add(name);
  }
  const imagePath = pathChild(path, 'image');
  const image = readRequiredString(c, 'image', imagePath, errs);
  if (image && image.trim() !== image) {
    errs.push(fieldInvalid(imagePath, image, 'must not have leading or trailing whitespace'));
  }
  checkEnum(c['imagePullPolicy'], pathChild(path, 'imagePullPolicy'), PULL_POLICIES, errs);
  for (const f of ['command', 'args']) {
    const list = readArray(c[f], pathChild(path, f), errs) ?? [];
    list.forEach((a, i) => readString(a, pathIndex(pathChild(path, f), i), errs));
  }

  const portsPath = pathChild(path, 'ports');
  const portNames = new Set<string>();
  (readArray(c['ports'], portsPath, errs) ?? []).forEach((item, i) => {
    const p = pathIndex(portsPath, i);
    const port = readObject(item, p, errs);
    if (!port) return;
    checkPort(port['containerPort'], pathChild(p, 'containerPort'), errs, true);
    checkPort(port['hostPort'], pathChild(p, 'hostPort'), errs, false);
    checkEnum(port['protocol'], pathChild(p, 'protocol'), PROTOCOLS, errs);
    const pn = readString(port['name'], pathChild(p, 'name'), errs);
    if (pn) {
      for (const msg of portNameProblems(pn)) errs.push(fieldInvalid(pathChild(p, 'name'), pn, msg));
      if (portNames.has(pn)) errs.push(fieldDuplicate(pathChild(p, 'name'), pn));
      portNames.add(pn);
    }
  });

  const envPath = pathChild(path, 'env');
  (readArray(c['env'], envPath, errs) ?? []).forEach((item, i) => {
    const p = pathIndex(envPath, i);
    const env = readObject(item, p, errs);
    if (!env) return;
    readRequiredString(env, 'name', pathChild(p, 'name'), errs);
    readString(env['value'], pathChild(p, 'value'), errs);
    readObject(env['valueFrom'], pathChild(p, 'valueFrom'), errs);
  });
  const envFromPath = pathChild(path, 'envFrom');
  (readArray(c['envFrom'], envFromPath, errs) ?? []).forEach((item, i) => readObject(item, pathIndex(envFromPath, i), errs));

  const mountsPath = pathChild(path, 'volumeMounts');
  const mountPaths = new Set<string>();
  (readArray(c['volumeMounts'], mountsPath, errs) ?? []).forEach((item, i) => {
    const p = pathIndex(mountsPath, i);
    const m = readObject(item, p, errs);
    if (!m) return;
    readRequiredString(m, 'name', pathChild(p, 'name'), errs);
    const mp = readRequiredString(m, 'mountPath', pathChild(p, 'mountPath'), errs);
    if (mp === undefined) return;
    if (mountPaths.has(mp)) errs.push(fieldInvalid(pathChild(p, 'mountPath'), mp, 'must be unique'));
    else mountPaths.add(mp);
    readBoolean(m['readOnly'], pathChild(p, 'readOnly'), errs);
    const subPath = readString(m['subPath'], pathChild(p, 'subPath'), errs);
    if (subPath) checkLocalDescendingPath(subPath, pathChild(p, 'subPath'), errs);
    const subPathExpr = readString(m['subPathExpr'], pathChild(p, 'subPathExpr'), errs);
    if (subPath && subPathExpr) errs.push(fieldInvalid(pathChild(p, 'subPathExpr'), subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
    if (subPathExpr) checkLocalDescendingPath(subPathExpr, pathChild(p, 'subPathExpr'), errs);
  });
  readObject(c['resources'], pathChild(path, 'resources'), errs);
  for (const f of ['livenessProbe', 'readinessProbe', 'startupProbe', 'securityContext', 'lifecycle'])
    readObject(c[f], pathChild(path, f), errs);
}

function validateContainerList(value: unknown, path: string, names: Set<string>, errs: FieldError[], required: boolean): void {
  const list = readArray(value, path, errs);
  if (list === undefined || list.length === 0) {
    if (required && (list !== undefined || value === undefined || value === null)) errs.push(fieldRequired(path));
    return;
  }
  list.forEach((item, i) => {
    const c = readObject(item, pathIndex(path, i), errs);
    if (c) validateContainer(c, pathIndex(path, i), names, errs);
  });
}

/** Validates a PodSpec at `path` (also used for pod templates). */
export function validatePodSpec(value: unknown, path: string, errs: FieldError[]): void {
  const spec = readObject(value, path, errs);
  if (!spec) {
    if (value === undefined || value === null) errs.push(fieldRequired(pathChild(path, 'containers')));
    return;
  }
  const names = new Set<string>();
  validateContainerList(spec['initContainers'], pathChild(path, 'initContainers'), names, errs, false);
  validateContainerList(spec['containers'], pathChild(path, 'containers'), names, errs, true);
  validateEphemeralContainers(spec, path, names, errs);

  const volumesPath = pathChild(path, 'volumes');
  const volumeNames = new Set<string>();
  (readArray(spec['volumes'], volumesPath, errs) ?? []).forEach((item, i) => {
    const p = pathIndex(volumesPath, i);
    const vol = readObject(item, p, errs);
    if (!vol) return;
    const n = readRequiredString(vol, 'name', pathChild(p, 'name'), errs);
    if (n === undefined) return;
    checkLabelName(n, pathChild(p, 'name'), errs);
    if (volumeNames.has(n)) errs.push(fieldDuplicate(pathChild(p, 'name'), n));
    volumeNames.add(n);
    checkVolumeSource(vol, p, errs);
  });

  checkEnum(spec['restartPolicy'], pathChild(path, 'restartPolicy'), RESTART_POLICIES, errs);
  checkEnum(spec['dnsPolicy'], pathChild(path, 'dnsPolicy'), DNS_POLICIES, errs);
  for (const f of ['nodeName', 'serviceAccountName', 'hostname', 'subdomain', 'schedulerName', 'priorityClassName']) {
    const v = readString(spec[f], pathChild(path, f), errs);
    if (v && (f === 'nodeName' || f === 'serviceAccountName'))
      for (const p of dns1123SubdomainProblems(v)) errs.push(fieldInvalid(pathChild(path, f), v, p));
  }
  const grace = readInteger(spec['terminationGracePeriodSeconds'], pathChild(path, 'terminationGracePeriodSeconds'), errs);
  if (grace !== undefined && grace < 0)
    errs.push(fieldInvalid(pathChild(path, 'terminationGracePeriodSeconds'), grace, 'must be greater than or equal to 0'));
  const deadline = readInteger(spec['activeDeadlineSeconds'], pathChild(path, 'activeDeadlineSeconds'), errs);
  if (deadline !== undefined && deadline <= 0)
    errs.push(fieldInvalid(pathChild(path, 'activeDeadlineSeconds'), deadline, 'must be greater than 0'));
  errs.push(...validateLabels(spec['nodeSelector'], pathChild(path, 'nodeSelector')));
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC', 'automountServiceAccountToken'])
    readBoolean(spec[f], pathChild(path, f), errs);
  for (const f of ['tolerations', 'imagePullSecrets']) {
    const list = readArray(spec[f], pathChild(path, f), errs) ?? [];
    list.forEach((t, i) => readObject(t, pathIndex(pathChild(path, f), i), errs));
  }
  readObject(spec['affinity'], pathChild(path, 'affinity'), errs);
  readObject(spec['securityContext'], pathChild(path, 'securityContext'), errs);
}
