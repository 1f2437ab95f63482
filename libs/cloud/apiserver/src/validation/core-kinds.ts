// Light validators for the other core kinds kubectl tests create: ConfigMap, Secret, Service,
// Endpoints, Node, Event, ServiceAccount, Lease, Namespace. Each checks types first, then the
// handful of rules upstream enforces that clients actually trip over.
import type { FieldError } from './field-error';
import {
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldTooLong,
  pathChild,
  pathIndex,
  pathKey,
} from './field-error';
import { configMapKeyProblems, dns1123LabelProblems, dns1123SubdomainProblems, isCIDR, isIP, labelValueProblems, portNameProblems, qualifiedNameProblems } from './names';
import { validateLabels } from './object-meta';
import { PROTOCOLS, checkEnum, checkPort } from './pod';
import type { JsonObject } from '../json';
import { own, readArray, readBoolean, readInteger, readObject, readRequiredString, readString, readStringMap } from './read';
import { base64DecodedLength, isBase64 } from './secret';

/** Upstream MaxSecretSize, also used for ConfigMaps. */
export const MAX_DATA_SIZE = 1024 * 1024;

function checkDataKeys(keys: Iterable<string>, path: string, errs: FieldError[]): void {
  for (const k of keys) for (const p of configMapKeyProblems(k)) errs.push(fieldInvalid(pathKey(path, k), k, p));
}

export function validateConfigMap(obj: JsonObject, errs: FieldError[]): void {
  const data = readStringMap(own(obj, 'data'), 'data', errs);
  checkDataKeys(data.keys(), 'data', errs);
  const binary = readStringMap(own(obj, 'binaryData'), 'binaryData', errs);
  checkDataKeys(binary.keys(), 'binaryData', errs);
  let size = 0;
  for (const [k, v] of data) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  for (const [k, v] of binary) {
    if (data.has(k)) errs.push(fieldInvalid(pathKey('data', k), k, 'duplicate of key present in binaryData'));
    if (!isBase64(v)) errs.push(fieldInvalid(pathKey('binaryData', k), '<value omitted>', 'must be base64-encoded'));
    size += Buffer.byteLength(k) + base64DecodedLength(v);
  }
  if (size > MAX_DATA_SIZE) errs.push(fieldTooLong('', '', MAX_DATA_SIZE));
  readBoolean(own(obj, 'immutable'), 'immutable', errs);
}

// Secret types whose data must carry specific keys.
const SECRET_REQUIRED_KEYS: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export function validateSecret(obj: JsonObject, errs: FieldError[]): void {
  const data = readStringMap(own(obj, 'data'), 'data', errs);
  checkDataKeys(data.keys(), 'data', errs);
  let size = 0;
  for (const [k, v] of data) {
    if (!isBase64(v)) errs.push(fieldInvalid(pathKey('data', k), '<secret contents redacted>', 'must be base64-encoded'));
    size += Buffer.byteLength(k) + base64DecodedLength(v);
  }
  // stringData left after normalizeSecret holds only entries that were not strings.
  const stringData = readStringMap(own(obj, 'stringData'), 'stringData', errs);
  checkDataKeys(stringData.keys(), 'stringData', errs);
  if (size > MAX_DATA_SIZE) errs.push(fieldTooLong('data', '', MAX_DATA_SIZE));
  const type = readString(own(obj, 'type'), 'type', errs);
  if (type !== undefined) {
    if (type.length > 253) errs.push(fieldTooLong('type', type, 253));
    for (const key of SECRET_REQUIRED_KEYS[type] ?? [])
      if (!data.has(key) && !stringData.has(key)) errs.push(fieldRequired(pathKey('data', key)));
    if (type === 'kubernetes.io/service-account-token') {
      const meta = readObject(own(obj, 'metadata'), 'metadata', []);
      const ann = meta ? readStringMap(own(meta, 'annotations'), 'metadata.annotations', []) : new Map<string, string>();
      if (!ann.get('kubernetes.io/service-account.name'))
        errs.push(fieldRequired('metadata.annotations[kubernetes.io/service-account.name]'));
    }
    if (type === 'kubernetes.io/basic-auth' && !data.has('username') && !data.has('password'))
      errs.push(fieldRequired('data[username]'));
    if (type === 'kubernetes.io/dockerconfigjson') {
      const raw = data.get('.dockerconfigjson');
      if (raw !== undefined && isBase64(raw)) {
        try {
          JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
        } catch {
          errs.push(fieldInvalid('data[.dockerconfigjson]', '<secret contents redacted>', 'must be valid JSON'));
        }
      }
    }
  }
  readBoolean(own(obj, 'immutable'), 'immutable', errs);
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

export function validateService(obj: JsonObject, errs: FieldError[]): void {
  const spec = readObject(own(obj, 'spec'), 'spec', errs) ?? {};
  const type = readString(own(spec, 'type'), 'spec.type', errs) ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) errs.push(fieldNotSupported('spec.type', type, SERVICE_TYPES));
  const clusterIP = readString(own(spec, 'clusterIP'), 'spec.clusterIP', errs);
  if (clusterIP && clusterIP !== 'None' && !isIP(clusterIP))
    errs.push(fieldInvalid('spec.clusterIP', clusterIP, 'must be empty, \'None\', or a valid IP address'));
  (readArray(own(spec, 'clusterIPs'), 'spec.clusterIPs', errs) ?? []).forEach((ip, i) => readString(ip, pathIndex('spec.clusterIPs', i), errs));
  if (type === 'ExternalName') {
    const ext = readRequiredString(spec, 'externalName', 'spec.externalName', errs);
    if (ext) for (const p of dns1123SubdomainProblems(ext.replace(/\.$/, ''))) errs.push(fieldInvalid('spec.externalName', ext, p));
  }
  const rawPorts = own(spec, 'ports');
  const ports = readArray(rawPorts, 'spec.ports', errs);
  const noPorts = rawPorts === undefined || rawPorts === null || ports?.length === 0;
  // Headless and ExternalName services may omit ports.
  if (noPorts && type !== 'ExternalName' && clusterIP !== 'None') errs.push(fieldRequired('spec.ports'));
  const names = new Set<string>();
  const tuples = new Set<string>();
  (ports ?? []).forEach((item, i) => {
    const p = pathIndex('spec.ports', i);
    const port = readObject(item, p, errs);
    if (!port) return;
    const name = readString(own(port, 'name'), pathChild(p, 'name'), errs);
    if ((ports?.length ?? 0) > 1 && !name) errs.push(fieldRequired(pathChild(p, 'name')));
    if (name) {
      for (const m of dns1123LabelProblems(name)) errs.push(fieldInvalid(pathChild(p, 'name'), name, m));
      if (names.has(name)) errs.push(fieldDuplicate(pathChild(p, 'name'), name));
      names.add(name);
    }
    const num = checkPort(own(port, 'port'), pathChild(p, 'port'), errs, true);
    checkEnum(own(port, 'protocol'), pathChild(p, 'protocol'), PROTOCOLS, errs);
    const protocol = typeof own(port, 'protocol') === 'string' ? (own(port, 'protocol') as string) : 'TCP';
    const tuple = JSON.stringify({ port: num, protocol });
    if (num !== undefined && tuples.has(tuple)) errs.push(fieldDuplicate(p, { port: num, protocol }));
    tuples.add(tuple);
    const target = own(port, 'targetPort');
    if (typeof target === 'string') {
      for (const m of portNameProblems(target)) errs.push(fieldInvalid(pathChild(p, 'targetPort'), target, m));
    } else if (target !== undefined && target !== null) {
      checkPort(target, pathChild(p, 'targetPort'), errs, false);
    }
    const nodePort = readInteger(own(port, 'nodePort'), pathChild(p, 'nodePort'), errs);
    if (nodePort) {
      if (type === 'ClusterIP' || type === 'ExternalName')
        errs.push(fieldForbidden(pathChild(p, 'nodePort'), `may not be used when \`type\` is '${type}'`));
      else checkPort(nodePort, pathChild(p, 'nodePort'), errs, false);
    }
  });
  errs.push(...validateLabels(own(spec, 'selector'), 'spec.selector'));
  checkEnum(own(spec, 'sessionAffinity'), 'spec.sessionAffinity', ['ClientIP', 'None'], errs);
  checkEnum(own(spec, 'externalTrafficPolicy'), 'spec.externalTrafficPolicy', ['Cluster', 'Local'], errs);
  checkEnum(own(spec, 'ipFamilyPolicy'), 'spec.ipFamilyPolicy', ['SingleStack', 'PreferDualStack', 'RequireDualStack'], errs);
}

export function validateEndpoints(obj: JsonObject, errs: FieldError[]): void {
  (readArray(own(obj, 'subsets'), 'subsets', errs) ?? []).forEach((item, i) => {
    const sp = pathIndex('subsets', i);
    const subset = readObject(item, sp, errs);
    if (!subset) return;
    for (const f of ['addresses', 'notReadyAddresses']) {
      (readArray(own(subset, f), pathChild(sp, f), errs) ?? []).forEach((a, j) => {
        const ap = pathIndex(pathChild(sp, f), j);
        const addr = readObject(a, ap, errs);
        if (!addr) return;
        const ip = readRequiredString(addr, 'ip', pathChild(ap, 'ip'), errs);
        if (ip && !isIP(ip)) errs.push(fieldInvalid(pathChild(ap, 'ip'), ip, 'must be a valid IP address'));
        readString(own(addr, 'nodeName'), pathChild(ap, 'nodeName'), errs);
        readObject(own(addr, 'targetRef'), pathChild(ap, 'targetRef'), errs);
      });
    }
    const ports = readArray(own(subset, 'ports'), pathChild(sp, 'ports'), errs) ?? [];
    ports.forEach((pItem, k) => {
      const pp = pathIndex(pathChild(sp, 'ports'), k);
      const port = readObject(pItem, pp, errs);
      if (!port) return;
      const name = readString(own(port, 'name'), pathChild(pp, 'name'), errs);
      if (ports.length > 1 && !name) errs.push(fieldRequired(pathChild(pp, 'name')));
      if (name) for (const m of dns1123LabelProblems(name)) errs.push(fieldInvalid(pathChild(pp, 'name'), name, m));
      checkPort(own(port, 'port'), pathChild(pp, 'port'), errs, true);
      checkEnum(own(port, 'protocol'), pathChild(pp, 'protocol'), PROTOCOLS, errs);
    });
  });
}

const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

export function validateNode(obj: JsonObject, errs: FieldError[]): void {
  const spec = readObject(own(obj, 'spec'), 'spec', errs) ?? {};
  const podCIDR = readString(own(spec, 'podCIDR'), 'spec.podCIDR', errs);
  if (podCIDR && !isCIDR(podCIDR)) errs.push(fieldInvalid('spec.podCIDR', podCIDR, 'must be a valid CIDR'));
  (readArray(own(spec, 'podCIDRs'), 'spec.podCIDRs', errs) ?? []).forEach((c, i) => {
    const cidr = readString(c, pathIndex('spec.podCIDRs', i), errs);
    if (cidr !== undefined && !isCIDR(cidr)) errs.push(fieldInvalid(pathIndex('spec.podCIDRs', i), cidr, 'must be a valid CIDR'));
  });
  readBoolean(own(spec, 'unschedulable'), 'spec.unschedulable', errs);
  readString(own(spec, 'providerID'), 'spec.providerID', errs);
  const seen = new Set<string>();
  (readArray(own(spec, 'taints'), 'spec.taints', errs) ?? []).forEach((item, i) => {
    const p = pathIndex('spec.taints', i);
    const taint = readObject(item, p, errs);
    if (!taint) return;
    const key = readRequiredString(taint, 'key', pathChild(p, 'key'), errs);
    if (key) for (const m of qualifiedNameProblems(key)) errs.push(fieldInvalid(pathChild(p, 'key'), key, m));
    const value = readString(own(taint, 'value'), pathChild(p, 'value'), errs);
    if (value) for (const m of labelValueProblems(value)) errs.push(fieldInvalid(pathChild(p, 'value'), value, m));
    const effect = readRequiredString(taint, 'effect', pathChild(p, 'effect'), errs);
    if (effect && !TAINT_EFFECTS.includes(effect)) errs.push(fieldNotSupported(pathChild(p, 'effect'), effect, TAINT_EFFECTS));
    const id = `${key ?? ''}:${effect ?? ''}`;
    if (seen.has(id)) errs.push(fieldDuplicate(p, { key, effect }));
    seen.add(id);
  });
}

export function validateEvent(obj: JsonObject, errs: FieldError[]): void {
  const involved = readObject(own(obj, 'involvedObject'), 'involvedObject', errs);
  if (involved) for (const f of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'])
    readString(own(involved, f), pathChild('involvedObject', f), errs);
  for (const f of ['reason', 'message', 'firstTimestamp', 'lastTimestamp', 'eventTime', 'action', 'reportingComponent', 'reportingInstance'])
    readString(own(obj, f), f, errs);
  checkEnum(own(obj, 'type'), 'type', ['Normal', 'Warning'], errs);
  const count = readInteger(own(obj, 'count'), 'count', errs);
  if (count !== undefined && count < 0) errs.push(fieldInvalid('count', count, 'must be greater than or equal to 0'));
  readObject(own(obj, 'source'), 'source', errs);
  readObject(own(obj, 'series'), 'series', errs);
}

export function validateServiceAccount(obj: JsonObject, errs: FieldError[]): void {
  for (const f of ['secrets', 'imagePullSecrets']) {
    (readArray(own(obj, f), f, errs) ?? []).forEach((item, i) => {
      const ref = readObject(item, pathIndex(f, i), errs);
      if (ref) readString(own(ref, 'name'), pathChild(pathIndex(f, i), 'name'), errs);
    });
  }
  readBoolean(own(obj, 'automountServiceAccountToken'), 'automountServiceAccountToken', errs);
}

const MICRO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export function validateLease(obj: JsonObject, errs: FieldError[]): void {
  const spec = readObject(own(obj, 'spec'), 'spec', errs) ?? {};
  readString(own(spec, 'holderIdentity'), 'spec.holderIdentity', errs);
  const duration = readInteger(own(spec, 'leaseDurationSeconds'), 'spec.leaseDurationSeconds', errs);
  if (duration !== undefined && duration <= 0) errs.push(fieldInvalid('spec.leaseDurationSeconds', duration, 'must be greater than 0'));
  const transitions = readInteger(own(spec, 'leaseTransitions'), 'spec.leaseTransitions', errs);
  if (transitions !== undefined && transitions < 0)
    errs.push(fieldInvalid('spec.leaseTransitions', transitions, 'must be greater than or equal to 0'));
  for (const f of ['acquireTime', 'renewTime']) {
    const t = readString(own(spec, f), `spec.${f}`, errs);
    if (t !== undefined && !MICRO_TIME_RE.test(t)) errs.push(fieldInvalid(`spec.${f}`, t, 'must be an RFC3339 timestamp'));
  }
}

export function validateNamespace(obj: JsonObject, errs: FieldError[]): void {
  const spec = readObject(own(obj, 'spec'), 'spec', errs);
  (readArray(spec ? own(spec, 'finalizers') : undefined, 'spec.finalizers', errs) ?? []).forEach((f, i) => {
    const v = readString(f, pathIndex('spec.finalizers', i), errs);
    if (v) for (const m of qualifiedNameProblems(v)) errs.push(fieldInvalid(pathIndex('spec.finalizers', i), v, m));
  });
}
