// POST .../namespaces/<ns>/pods/<name>/eviction (`kubectl drain`): an Eviction (policy/v1 or v1beta1,
// JSON, YAML or protobuf) is checked against the URL and carried out by the eviction module. Answers as
// upstream: 201 Status Success, 429 while a budget forbids it, a 500 Status for a pod with several budgets.
import { parseWriteOptions } from '@kedge/kube-core';
import { readEvictionRequest, evictPod } from '../eviction';
import { sendJson } from '../http';
import { resolveDeleteOptions } from './delete-handlers';
import { namespaceOf, type ResourceRequest } from './request-context';
import { readObjectBody } from './request-objects';

export async function handlePodEviction(context: ResourceRequest): Promise<void> {
  const namespace = namespaceOf(context) ?? '';
  const name = context.path.name ?? '';
  const body = await readObjectBody(context);
  parseWriteOptions(context.query, 'CreateOptions'); // 422 for bad dryRun/fieldManager values, as any create
  const request = readEvictionRequest(body, name, namespace, context.query.getAll('dryRun'));
  const options = resolveDeleteOptions(request.deleteOptions ?? {}, {
    dryRun: request.dryRunValues.length > 0,
    dryRunValues: request.dryRunValues,
    gracePeriodSeconds: undefined,
    propagationPolicy: undefined,
    orphanDependents: undefined,
  });
  const budgets = context.services.catalog.find('policy', 'v1', 'poddisruptionbudgets');
  if (budgets === undefined) throw new Error('policy/v1 poddisruptionbudgets is not served');
  const outcome = evictPod(context.services.store, { pods: context.type, budgets }, namespace, name, options);
  if (outcome.result === 'multiple-budgets') {
    // upstream returns this Status as the result, not as an error: no reason, code 500
    sendJson(context.response, 500, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      code: 500,
    });
    context.services.logger.warn({ namespace, pod: name, budgets: outcome.budgets }, 'eviction refused: the pod has more than one PodDisruptionBudget');
    return;
  }
  context.services.logger.info({ namespace, pod: name, budget: outcome.budget, dryRun: options.dryRun === true, user: context.user.name }, 'pod evicted');
  sendJson(context.response, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
