// pods/log, pods/exec|attach|portforward and nodes/proxy, served as kube-apiserver serves them: by
// dialling the node's kubelet API (for edge nodes, the one cloudcore serves) with the kubelet client.
// The pod's node and container are resolved here, as kube-apiserver's pod strategy does.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest, serviceUnavailable, stringAt, type KubeObject } from '@kedge/kube-core';
import type { KubeletClient } from '../kubelet-client';
import { namespaceOf, type HandlerServices, type ResourceRequest } from './request-context';

const LOG_PARAMETERS = ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes'];
// kubectl and client-go send stdin/stdout/stderr/tty; the kubelet reads input/output/error/tty
const PROCESS_STREAMS: Array<[string, string]> = [
  ['stdin', 'input'],
  ['stdout', 'output'],
  ['stderr', 'error'],
  ['tty', 'tty'],
];

function kubeletOf(services: HandlerServices, what: string): KubeletClient {
  const client = services.kubelet.current;
  if (client === undefined) throw serviceUnavailable(`${what} needs the node's kubelet, and this API server has no kubelet client configured`);
  return client;
}

function isTrue(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

interface ScheduledPod {
  namespace: string;
  name: string;
  pod: KubeObject;
  nodeName: string;
}

function scheduledPod(context: ResourceRequest): ScheduledPod {
  const namespace = namespaceOf(context) ?? '';
  const name = context.path.name ?? '';
  const pod = context.services.store.get(context.type, namespace, name);
  const nodeName = stringAt(pod, ['spec', 'nodeName']) ?? '';
  if (nodeName === '') throw badRequest(`pod ${name} does not have a host assigned`);
  return { namespace, name, pod, nodeName };
}

/** `?container=`, else the kubectl default-container annotation, else the pod's only container. */
function containerOf(pod: KubeObject, query: URLSearchParams): string {
  const asked = query.get('container');
  if (asked) return asked;
  const spec = pod['spec'] as { containers?: Array<{ name?: string }> } | undefined;
  const names = (spec?.containers ?? []).map((c) => c.name ?? '').filter((n) => n !== '');
  const preferred = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (preferred && names.includes(preferred)) return preferred;
  if (names.length === 1) return names[0] ?? '';
  throw badRequest(`a container name must be specified for pod ${pod.metadata.name ?? ''}, choose one of: [${names.join(' ')}]`);
}

const segment = encodeURIComponent;

function withQuery(path: string, query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

export async function handlePodLog(context: ResourceRequest): Promise<void> {
  const { namespace, name, pod, nodeName } = scheduledPod(context);
  const container = containerOf(pod, context.query);
  const params = new URLSearchParams();
  for (const parameter of LOG_PARAMETERS) {
    const value = context.query.get(parameter);
    if (value !== null) params.set(parameter, value);
  }
  const client = kubeletOf(context.services, `pods/log of ${namespace}/${name}`);
  await client.proxy(nodeName, withQuery(`/containerLogs/${segment(namespace)}/${segment(name)}/${segment(container)}`, params), context.request, context.response);
}

/** exec/attach/portforward without an Upgrade header: Kubernetes answers 400 "Upgrade request required". */
export function handlePodConnectWithoutUpgrade(_context: ResourceRequest): void {
  throw badRequest('Upgrade request required');
}

/** nodes/<name>/proxy/<path>: any method, to the node's kubelet. */
export async function handleNodeProxy(context: ResourceRequest): Promise<void> {
  const nodeName = context.path.name ?? '';
  context.services.store.get(context.type, undefined, nodeName);
  const client = kubeletOf(context.services, `nodes/${nodeName}/proxy`);
  await client.proxy(nodeName, withQuery(`/${context.path.proxyPath ?? ''}`, context.query), context.request, context.response);
}

/** Upgrades: pods/exec|attach|portforward and nodes/proxy, piped raw to the kubelet. */
export function handleConnectUpgrade(context: ResourceRequest, request: IncomingMessage, socket: Duplex, head: Buffer): void {
  const { subresource, resource } = context.path;
  if (resource === 'nodes' && subresource === 'proxy') {
    const nodeName = context.path.name ?? '';
    context.services.store.get(context.type, undefined, nodeName);
    kubeletOf(context.services, `nodes/${nodeName}/proxy`).upgrade(nodeName, withQuery(`/${context.path.proxyPath ?? ''}`, context.query), request, socket, head);
    return;
  }
  if (resource !== 'pods' || (subresource !== 'exec' && subresource !== 'attach' && subresource !== 'portforward')) {
    throw badRequest(`${resource}/${subresource ?? ''} cannot be upgraded`);
  }
  const { namespace, name, pod, nodeName } = scheduledPod(context);
  const client = kubeletOf(context.services, `pods/${subresource} of ${namespace}/${name}`);
  if (subresource === 'portforward') {
    const params = new URLSearchParams();
    for (const port of context.query.getAll('ports')) params.append('port', port);
    client.upgrade(nodeName, withQuery(`/portForward/${segment(namespace)}/${segment(name)}`, params), request, socket, head);
    return;
  }
  const container = containerOf(pod, context.query);
  const params = new URLSearchParams();
  if (subresource === 'exec') for (const command of context.query.getAll('command')) params.append('command', command);
  for (const [asked, kubelet] of PROCESS_STREAMS) if (isTrue(context.query.get(asked))) params.set(kubelet, '1');
  const kind = subresource === 'exec' ? 'exec' : 'attach';
  client.upgrade(nodeName, withQuery(`/${kind}/${segment(namespace)}/${segment(name)}/${segment(container)}`, params), request, socket, head);
}
