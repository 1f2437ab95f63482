// pods/log over plain HTTP and pods/exec|attach|portforward over an HTTP upgrade, handed to the
// registered PodStreamHandler. Without one the client gets a 503 Status that says why.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest, serviceUnavailable, stringAt } from '@kedge/kube-core';
import type { PodStreamTarget } from '../pod-streams';
import { namespaceOf, type ResourceRequest } from './request-context';

const NO_HANDLER =
  'pod streams (logs, exec, attach, port-forward) are served through the edge stream tunnel, and no stream handler is registered';

function targetOf(context: ResourceRequest): PodStreamTarget {
  const namespace = namespaceOf(context) ?? '';
  const pod = context.services.store.get(context.type, namespace, context.path.name ?? '');
  return {
    namespace,
    podName: context.path.name ?? '',
    pod,
    nodeName: stringAt(pod, ['spec', 'nodeName']) ?? '',
    query: context.query,
    user: { name: context.user.name, groups: [...context.user.groups] },
  };
}

export async function handlePodLog(context: ResourceRequest): Promise<void> {
  const target = targetOf(context);
  const handler = context.services.podStreams.current;
  if (handler?.streamLog === undefined) throw serviceUnavailable(`${NO_HANDLER} (pods/log for ${target.namespace}/${target.podName})`);
  if (target.nodeName === '') throw badRequest(`pod ${target.podName} is not scheduled to a node, so it has no logs yet`);
  await handler.streamLog(target, context.request, context.response);
}

/** exec/attach/portforward without an Upgrade header: Kubernetes answers 400 "Upgrade request required". */
export function handlePodConnectWithoutUpgrade(context: ResourceRequest): void {
  const target = targetOf(context);
  if (context.services.podStreams.current?.upgrade === undefined) {
    throw serviceUnavailable(`${NO_HANDLER} (pods/${context.path.subresource ?? ''} for ${target.namespace}/${target.podName})`);
  }
  throw badRequest('Upgrade request required');
}

/** Hands an upgraded pods/exec|attach|portforward connection to the handler. */
export function handlePodUpgrade(context: ResourceRequest, request: IncomingMessage, socket: Duplex, head: Buffer): void {
  const subresource = context.path.subresource;
  if (subresource !== 'exec' && subresource !== 'attach' && subresource !== 'portforward') {
    throw badRequest(`pods/${subresource ?? ''} cannot be upgraded`);
  }
  const target = targetOf(context);
  const handler = context.services.podStreams.current;
  if (handler?.upgrade === undefined) throw serviceUnavailable(`${NO_HANDLER} (pods/${subresource} for ${target.namespace}/${target.podName})`);
  if (target.nodeName === '') throw badRequest(`pod ${target.podName} is not scheduled to a node`);
  handler.upgrade(subresource, target, request, socket, head);
}

