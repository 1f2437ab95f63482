// The core/v1 types this server serves, with the defaults and field selectors their clients rely on
// (kubelet lists pods by spec.nodeName, kubectl describe lists events by involvedObject.*).
import { randomInt } from 'node:crypto';
import { arrayAt, configMapTable, endpointsTable, eventTable, isRecord, namespaceTable, nodeTable, podTable, recordAt, secretTable, serviceAccountTable, serviceTable, stringAt, type KubeObject } from '@kedge/kube-core';
import { normalizeSecret } from '../validation';
import { defineBuiltin } from './builtin-type';
import { keepEphemeralContainersApart } from './pod-ephemeral-containers';
import type { ResourceType, Verb } from './resource-type';

const text = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value));
const at = (path: string[]) => (object: KubeObject): string => text(path.reduce<unknown>((value, step) => (isRecord(value) ? value[step] : undefined), object));

export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;
/** The annotation that marks a pod as the API mirror of a node's static pod. */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** The defaults of a PodSpec, for pods and for the pod templates of workloads. */
export function defaultPodSpec(spec: Record<string, unknown>): void {
  spec['restartPolicy'] ??= 'Always';
  spec['dnsPolicy'] ??= 'ClusterFirst';
  spec['schedulerName'] ??= 'default-scheduler';
  spec['terminationGracePeriodSeconds'] ??= DEFAULT_TERMINATION_GRACE_SECONDS;
  for (const container of ['containers', 'initContainers', 'ephemeralContainers'].flatMap((field) => arrayAt(spec, [field])).filter(isRecord)) {
    const image = typeof container['image'] === 'string' ? container['image'] : '';
    const tag = image.includes('@') ? 'digest' : (image.split('/').pop() ?? '').split(':')[1];
    container['imagePullPolicy'] ??= tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
    container['terminationMessagePath'] ??= '/dev/termination-log';
    container['terminationMessagePolicy'] ??= 'File';
    for (const port of arrayAt(container, ['ports']).filter(isRecord)) port['protocol'] ??= 'TCP';
  }
}

function defaultPod(object: KubeObject): void {
  const spec = recordAt(object, ['spec']);
  if (spec !== undefined) {
    defaultPodSpec(spec);
    // the ServiceAccount admission plugin's default: pods only, not templates, and not mirror pods,
    // which must reference no API object (nodes may create only those: auth/node-authorizer.ts)
    if (!Object.hasOwn(object.metadata.annotations ?? {}, MIRROR_POD_ANNOTATION)) spec['serviceAccountName'] ??= 'default';
  }
  object['status'] = { phase: 'Pending', qosClass: qosClassOf(object) };
}

/** Kubernetes' QoS classes from container requests and limits, shown by `kubectl describe pod`. */
function qosClassOf(object: KubeObject): string {
  const containers = arrayAt(object, ['spec', 'containers']).filter(isRecord);
  let anyResource = false;
  let guaranteed = containers.length > 0;
  for (const container of containers) {
    const requests = recordAt(container, ['resources', 'requests']) ?? {};
    const limits = recordAt(container, ['resources', 'limits']) ?? {};
    if (Object.keys(requests).length + Object.keys(limits).length > 0) anyResource = true;
    for (const resource of ['cpu', 'memory']) {
      const limit = limits[resource];
      const request = requests[resource] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  if (!anyResource) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** Pods on a node wait for that node's kubelet to confirm; unscheduled or finished pods go at once. */
function podGracePeriod(object: KubeObject, requested: number | undefined): number {
  if (stringAt(object, ['spec', 'nodeName']) === undefined || stringAt(object, ['spec', 'nodeName']) === '') return 0;
  const phase = stringAt(object, ['status', 'phase']);
  if (phase === 'Succeeded' || phase === 'Failed') return 0;
  if (requested !== undefined) return Math.max(0, requested);
  const fromSpec = recordAt(object, ['spec'])?.['terminationGracePeriodSeconds'];
  return typeof fromSpec === 'number' && fromSpec >= 0 ? fromSpec : DEFAULT_TERMINATION_GRACE_SECONDS;
}

/** A cluster IP from 10.43.0.0/16 (K3s' service range); random, so no allocator state has to survive restarts. */
function allocateClusterIp(): string {
  return `10.43.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

function defaultService(object: KubeObject): void {
  const spec = recordAt(object, ['spec']);
  if (spec === undefined) return;
  spec['type'] ??= 'ClusterIP';
  spec['sessionAffinity'] ??= 'None';
  if (spec['type'] !== 'ExternalName') {
    spec['clusterIP'] ??= allocateClusterIp();
    if (spec['clusterIP'] !== 'None') spec['clusterIPs'] ??= [spec['clusterIP']];
    spec['ipFamilies'] ??= ['IPv4'];
    spec['ipFamilyPolicy'] ??= 'SingleStack';
    spec['internalTrafficPolicy'] ??= 'Cluster';
  }
  for (const port of arrayAt(spec, ['ports']).filter(isRecord)) {
    port['protocol'] ??= 'TCP';
    port['targetPort'] ??= port['port'];
    if ((spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') && port['nodePort'] === undefined) {
      port['nodePort'] = randomInt(30000, 32768);
    }
  }
  object['status'] = { loadBalancer: {} };
}

/** A re-applied Service without clusterIP keeps the allocated one, as in Kubernetes. */
function keepServiceAllocations(next: KubeObject, previous: KubeObject): void {
  const spec = recordAt(next, ['spec']);
  const before = recordAt(previous, ['spec']);
  if (spec === undefined || before === undefined) return;
  for (const field of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy', 'sessionAffinity', 'type']) {
    if (spec[field] === undefined && before[field] !== undefined) spec[field] = before[field];
  }
  for (const port of arrayAt(spec, ['ports']).filter(isRecord)) {
    port['protocol'] ??= 'TCP';
    port['targetPort'] ??= port['port'];
  }
}

/** stringData folded into data, and the default type, as Kubernetes stores a Secret. */
function normalizeSecretInPlace(object: KubeObject): void {
  const normalized = normalizeSecret(object);
  if (isRecord(normalized) && normalized !== object) {
    for (const key of Object.keys(object)) delete object[key];
    Object.assign(object, normalized);
  }
  object['type'] ??= 'Opaque';
}

const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

function defaultNamespace(object: KubeObject): void {
  object.metadata.labels = { ...object.metadata.labels, [NAMESPACE_NAME_LABEL]: object.metadata.name ?? '' };
  object['spec'] = { finalizers: ['kubernetes'] };
  object['status'] = { phase: 'Active' };
}

const NAMESPACE_VERBS: readonly Verb[] = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export const EVENT_FIELD_SELECTORS: ResourceType['fieldSelectors'] = {
  'involvedObject.kind': at(['involvedObject', 'kind']),
  'involvedObject.namespace': at(['involvedObject', 'namespace']),
  'involvedObject.name': at(['involvedObject', 'name']),
  'involvedObject.uid': at(['involvedObject', 'uid']),
  'involvedObject.apiVersion': at(['involvedObject', 'apiVersion']),
  'involvedObject.resourceVersion': at(['involvedObject', 'resourceVersion']),
  'involvedObject.fieldPath': at(['involvedObject', 'fieldPath']),
  reason: at(['reason']),
  reportingComponent: at(['reportingComponent']),
  source: at(['source', 'component']),
  type: at(['type']),
};

export function coreResources(): ResourceType[] {
  return [
    defineBuiltin({
      group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'],
      verbs: NAMESPACE_VERBS, subresources: ['status', 'finalize'], nameRule: 'label', table: namespaceTable,
      fieldSelectors: { 'status.phase': at(['status', 'phase']) },
      prepareForCreate: defaultNamespace,
      prepareForUpdate: (next, previous, context) => {
        next.metadata.labels = { ...next.metadata.labels, [NAMESPACE_NAME_LABEL]: next.metadata.name ?? '' };
        // spec.finalizers only change through the finalize subresource, which changes nothing else
        if (context.subresource === '') next['spec'] = previous['spec'];
        if (context.subresource === 'finalize') {
          const finalizers = recordAt(next, ['spec'])?.['finalizers'];
          const labels = next.metadata.labels;
          Object.assign(next, { ...previous, metadata: { ...previous.metadata, labels } });
          next['spec'] = { ...recordAt(previous, ['spec']), finalizers: Array.isArray(finalizers) ? finalizers : [] };
        }
      },
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'],
      subresources: ['status', 'proxy'], table: nodeTable,
      fieldSelectors: { 'spec.unschedulable': (object) => String(recordAt(object, ['spec'])?.['unschedulable'] === true) },
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true, shortNames: ['po'], categories: ['all'],
      subresources: ['status', 'binding', 'eviction', 'ephemeralcontainers', 'log', 'exec', 'attach', 'portforward'], table: podTable,
      fieldSelectors: {
        'spec.nodeName': at(['spec', 'nodeName']),
        'spec.restartPolicy': at(['spec', 'restartPolicy']),
        'spec.schedulerName': at(['spec', 'schedulerName']),
        'spec.serviceAccountName': at(['spec', 'serviceAccountName']),
        'spec.hostNetwork': (object) => String(recordAt(object, ['spec'])?.['hostNetwork'] === true),
        'status.phase': at(['status', 'phase']),
        'status.podIP': at(['status', 'podIP']),
        'status.nominatedNodeName': at(['status', 'nominatedNodeName']),
      },
      prepareForCreate: defaultPod,
      prepareForUpdate: (next, previous, context) => keepEphemeralContainersApart(next, previous, context, defaultPodSpec),
      deletionGracePeriod: podGracePeriod,
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'],
      table: configMapTable,
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true, table: secretTable,
      fieldSelectors: { type: at(['type']) },
      prepareForCreate: normalizeSecretInPlace,
      prepareForUpdate: normalizeSecretInPlace,
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true, shortNames: ['svc'], categories: ['all'],
      subresources: ['status'], nameRule: 'dns1035', allowCreateOnUpdate: true, table: serviceTable,
      fieldSelectors: { 'spec.clusterIP': at(['spec', 'clusterIP']), 'spec.type': at(['spec', 'type']) },
      prepareForCreate: defaultService,
      prepareForUpdate: (next, previous, context) => {
        if (context.subresource === '') keepServiceAllocations(next, previous);
      },
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'],
      allowCreateOnUpdate: true, table: endpointsTable,
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'],
      allowCreateOnUpdate: true, table: eventTable, fieldSelectors: EVENT_FIELD_SELECTORS,
    }),
    defineBuiltin({
      group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, shortNames: ['sa'],
      subresources: ['token'], table: serviceAccountTable,
    }),
  ];
}
