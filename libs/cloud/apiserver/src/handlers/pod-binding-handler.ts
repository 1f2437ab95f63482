// POST .../namespaces/<ns>/pods/<name>/binding: a scheduler assigns a pod to a node (core/v1 Binding),
// as kube-scheduler does. Like upstream's BindingREST: the target must be a Node, a pod already bound or
// being deleted is a 409, and the binding sets spec.nodeName and the PodScheduled=True condition in one write.
import { conflict, formatTimestamp, invalid, isRecord, recordAt, type KubeObject } from '@kedge/kube-core';
import { sendJson } from '../http';
import { writeOptionsOf } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { readObjectBody } from './request-objects';

interface BindingTarget {
  kind: string;
  name: string;
}

function readTarget(body: KubeObject, podName: string): BindingTarget {
  const target = body['target'];
  const kind = isRecord(target) && typeof target['kind'] === 'string' && target['kind'] !== '' ? target['kind'] : 'Node';
  const name = isRecord(target) && typeof target['name'] === 'string' ? target['name'] : '';
  const causes = [];
  if (body.kind !== undefined && body.kind !== 'Binding') causes.push({ reason: 'FieldValueNotSupported', field: 'kind', message: `Unsupported value: "${String(body.kind)}": supported values: "Binding"` });
  if (kind !== 'Node') causes.push({ reason: 'FieldValueNotSupported', field: 'target.kind', message: `Unsupported value: "${kind}": supported values: "Node"` });
  if (name === '') causes.push({ reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' });
  if (body.metadata.name !== undefined && body.metadata.name !== podName) {
    causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${body.metadata.name}": must match the pod name "${podName}"` });
  }
  if (causes.length > 0) throw invalid('', 'Binding', podName, causes);
  return { kind, name };
}

export async function handlePodBinding(context: ResourceRequest): Promise<void> {
  const { store } = context.services;
  const namespace = namespaceOf(context);
  const name = context.path.name ?? '';
  const target = readTarget(await readObjectBody(context), name);
  const { dryRun, fieldManager } = writeOptionsOf(context.query, 'CreateOptions', context.request.headers['user-agent']);
  const options = { dryRun, fieldManager };
  const ref = { group: '', resource: 'pods' };
  const now = formatTimestamp(context.services.now());
  // one write, as upstream's BindingREST: nobody sees a pod with a node but without PodScheduled
  store.modify(
    context.type,
    namespace,
    name,
    (pod) => {
      const spec = recordAt(pod, ['spec']) ?? {};
      const assigned = spec['nodeName'];
      if (pod.metadata.deletionTimestamp !== undefined) throw conflict(ref, name, 'pod is being deleted, cannot be assigned to a host');
      if (typeof assigned === 'string' && assigned !== '') throw conflict(ref, name, `pod ${name} is already assigned to node "${assigned}"`);
      pod['spec'] = { ...spec, nodeName: target.name };
      const status = recordAt(pod, ['status']) ?? {};
      const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as Array<Record<string, unknown>>) : [];
      const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now };
      pod['status'] = { ...status, conditions: [...conditions.filter((condition) => condition['type'] !== 'PodScheduled'), scheduled] };
      return pod;
    },
    { ...options, subresource: 'binding' },
  );
  sendJson(context.response, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
