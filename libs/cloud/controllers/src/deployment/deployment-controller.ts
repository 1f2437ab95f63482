// The Deployment controller: one ReplicaSet per pod template (`<deployment>-<pod-template-hash>`),
// rolled out by the Recreate or RollingUpdate strategy, old sets pruned to revisionHistoryLimit, and
// the status `kubectl rollout status` waits for. `kubectl rollout undo` works because kubectl copies
// an old set's template back into the Deployment, which makes that set the new one again.
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { isConflict, isNotFound, mergePatch, type ReconcileOutcome, type WorkQueue } from '@kedge/kube-client';
import type { Deployment, ReplicaSet } from '../objects';
import { controllerOf, isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { controllerReference } from '../pod-control';
import { isPodActive } from '../pod-state';
import { compileLabelSelector } from '../selectors';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { deploymentConditions, deploymentCounts } from './deployment-status';
import { podTemplateHash, POD_TEMPLATE_HASH_LABEL, sameTemplate } from './pod-template-hash';
import { newReplicaSetReplicas, scaleDownOldReplicaSets, surgeAndUnavailable, type SurgeAndUnavailable } from './rolling-update';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

export function revisionOf(set: ReplicaSet): number {
  const value = Number(set.metadata?.annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isInteger(value) ? value : 0;
}

export class DeploymentController {
  readonly queue: WorkQueue;

  constructor(private readonly context: ControllerContext) {
    this.queue = createControllerQueue(context, 'deployment', (key) => this.sync(key), (key) => {
      const { namespace, name } = splitKey(key);
      const deployment = context.informers.deployments.get(name, namespace);
      return deployment === undefined ? undefined : { kind: 'Deployment', apiVersion: 'apps/v1', object: deployment };
    });
    context.informers.deployments.subscribe((_event, deployment) => this.queue.add(keyOf(deployment)));
    context.informers.replicaSets.subscribe((_event, set) => {
      const owner = controllerOf(set);
      if (owner?.kind === 'Deployment') this.queue.add(`${namespaceOf(set)}/${owner.name}`);
      else if (owner === undefined) for (const deployment of context.informers.deployments.list(namespaceOf(set))) this.queue.add(keyOf(deployment));
    });
  }

  private limits(deployment: Deployment): SurgeAndUnavailable {
    const wanted = deployment.spec?.replicas ?? 1;
    if (deployment.spec?.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: 0 };
    return surgeAndUnavailable(wanted, deployment.spec?.strategy?.rollingUpdate);
  }

  /** The ReplicaSets this Deployment controls, adopting orphans whose labels its selector matches. */
  private async claimReplicaSets(deployment: Deployment): Promise<ReplicaSet[]> {
    const matches = compileLabelSelector(deployment.spec?.selector, 'spec.selector');
    const uid = deployment.metadata?.uid;
    const claimed: ReplicaSet[] = [];
    for (const set of this.context.informers.replicaSets.list(namespaceOf(deployment))) {
      const owner = controllerOf(set);
      if (owner !== undefined) {
        if (owner.uid === uid) claimed.push(set);
        continue;
      }
      if (isDeleting(set) || !matches(set.metadata?.labels)) continue;
      const ownerReferences = [...(set.metadata?.ownerReferences ?? []), controllerReference(deployment, 'Deployment')];
      await this.context.apps.patchNamespacedReplicaSet(
        { name: nameOf(set), namespace: namespaceOf(set), body: { metadata: { resourceVersion: set.metadata?.resourceVersion, ownerReferences } } },
        mergePatch(),
      );
      claimed.push(set);
    }
    return claimed;
  }

  private async sync(key: string): Promise<ReconcileOutcome> {
    const { namespace, name } = splitKey(key);
    const deployment = this.context.informers.deployments.get(name, namespace);
    if (deployment === undefined || isDeleting(deployment)) return;
    const limits = this.limits(deployment);
    const sets = await this.claimReplicaSets(deployment);
    let newSet = sets.find((set) => sameTemplate(set.spec?.template, deployment.spec?.template));
    const oldSets = sets.filter((set) => set !== newSet).sort((a, b) => revisionOf(a) - revisionOf(b));
    const maxOldRevision = Math.max(0, ...oldSets.map(revisionOf));
    const paused = deployment.spec?.paused === true;
    if (!paused) {
      if (newSet === undefined) {
        newSet = await this.createNewReplicaSet(deployment, oldSets, maxOldRevision, limits);
        if (newSet === undefined) return; // a name collision: the status change brings us back
      } else if (revisionOf(newSet) <= maxOldRevision) {
        // an undo made an old template current again: it becomes the newest revision
        await this.annotate(newSet, { [REVISION_ANNOTATION]: String(maxOldRevision + 1) });
      }
      if (deployment.spec?.strategy?.type === 'Recreate') await this.recreate(deployment, newSet, oldSets);
      else await this.rollingUpdate(deployment, newSet, oldSets, limits);
      await this.pruneHistory(deployment, oldSets);
    }
    return this.updateStatus(deployment, newSet, [...(newSet === undefined ? [] : [newSet]), ...oldSets], limits);
  }

  private async createNewReplicaSet(deployment: Deployment, oldSets: ReplicaSet[], maxOldRevision: number, limits: SurgeAndUnavailable): Promise<ReplicaSet | undefined> {
    const wanted = deployment.spec?.replicas ?? 1;
    const collisionCount = deployment.status?.['collisionCount'] as number | undefined;
    const hash = podTemplateHash(deployment.spec?.template, collisionCount);
    const template = JSON.parse(JSON.stringify(deployment.spec?.template ?? {})) as NonNullable<ReplicaSet['spec']>['template'] & object;
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
    const selector = deployment.spec?.selector ?? {};
    const oldTotal = oldSets.reduce((sum, set) => sum + (set.spec?.replicas ?? 0), 0);
    const replicas = deployment.spec?.strategy?.type === 'Recreate' ? (oldTotal === 0 ? wanted : 0) : newReplicaSetReplicas(wanted, 0, oldTotal, limits);
    const changeCause = deployment.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION];
    const body: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${nameOf(deployment)}-${hash}`,
        namespace: namespaceOf(deployment),
        labels: template.metadata.labels,
        annotations: {
          [REVISION_ANNOTATION]: String(maxOldRevision + 1),
          [DESIRED_REPLICAS_ANNOTATION]: String(wanted),
          [MAX_REPLICAS_ANNOTATION]: String(wanted + limits.maxSurge),
          ...(changeCause === undefined ? {} : { [CHANGE_CAUSE_ANNOTATION]: changeCause }),
        },
        ownerReferences: [controllerReference(deployment, 'Deployment')],
      },
      spec: {
        replicas,
        ...(deployment.spec?.minReadySeconds === undefined ? {} : { minReadySeconds: deployment.spec.minReadySeconds }),
        selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
        template,
      },
    };
    try {
      const created = (await this.context.apps.createNamespacedReplicaSet({ namespace: namespaceOf(deployment), body: body as V1ReplicaSet })) as unknown as ReplicaSet;
      this.scaled(deployment, nameOf(body), 0, replicas);
      return { ...body, metadata: { ...body.metadata, uid: created.metadata?.uid, resourceVersion: created.metadata?.resourceVersion } };
    } catch (error) {
      if (!isConflict(error)) throw error;
      const existing = this.context.informers.replicaSets.get(nameOf(body), namespaceOf(deployment));
      if (existing !== undefined && sameTemplate(existing.spec?.template, deployment.spec?.template)) return undefined; // ours, the cache is just behind
      // another template hashes to the same name: count the collision so the next hash differs (as upstream)
      await this.context.apps.patchNamespacedDeploymentStatus(
        { name: nameOf(deployment), namespace: namespaceOf(deployment), body: { status: { collisionCount: (collisionCount ?? 0) + 1 } } },
        mergePatch(),
      );
      this.context.logger.warn({ deployment: keyOf(deployment), replicaset: nameOf(body) }, 'pod-template-hash collision; counting it and hashing again');
      return undefined;
    }
  }

  private async recreate(deployment: Deployment, newSet: ReplicaSet, oldSets: ReplicaSet[]): Promise<void> {
    for (const set of oldSets) if ((set.spec?.replicas ?? 0) > 0) await this.scale(deployment, set, 0);
    const oldUids = new Set(oldSets.map((set) => set.metadata?.uid));
    const oldPodsRunning = this.context.informers.pods
      .list(namespaceOf(deployment))
      .some((pod) => oldUids.has(controllerOf(pod)?.uid) && isPodActive(pod));
    // Recreate means no old and new pods at once: the new set grows only once every old pod is gone
    if (oldPodsRunning || oldSets.some((set) => (set.status?.replicas ?? 0) > 0)) return;
    const wanted = deployment.spec?.replicas ?? 1;
    if ((newSet.spec?.replicas ?? 0) !== wanted) await this.scale(deployment, newSet, wanted);
  }

  private async rollingUpdate(deployment: Deployment, newSet: ReplicaSet, oldSets: ReplicaSet[], limits: SurgeAndUnavailable): Promise<void> {
    const wanted = deployment.spec?.replicas ?? 1;
    const newReplicas = newSet.spec?.replicas ?? 0;
    const total = newReplicas + oldSets.reduce((sum, set) => sum + (set.spec?.replicas ?? 0), 0);
    const target = newReplicas > wanted ? wanted : newReplicaSetReplicas(wanted, newReplicas, total, limits);
    if (target !== newReplicas) await this.scale(deployment, newSet, target);
    const plan = scaleDownOldReplicaSets(
      wanted,
      limits,
      { replicas: target, available: newSet.status?.availableReplicas ?? 0 },
      oldSets.map((set) => ({ name: nameOf(set), replicas: set.spec?.replicas ?? 0, available: set.status?.availableReplicas ?? 0 })),
    );
    for (const set of oldSets) {
      const replicas = plan.get(nameOf(set));
      if (replicas !== undefined) await this.scale(deployment, set, replicas);
    }
  }

  private async pruneHistory(deployment: Deployment, oldSets: ReplicaSet[]): Promise<void> {
    const limit = deployment.spec?.revisionHistoryLimit ?? 10;
    const idle = oldSets.filter((set) => (set.spec?.replicas ?? 0) === 0 && (set.status?.replicas ?? 0) === 0 && !isDeleting(set));
    for (const set of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        await this.context.apps.deleteNamespacedReplicaSet({ name: nameOf(set), namespace: namespaceOf(set) });
        this.context.logger.info({ deployment: keyOf(deployment), replicaset: nameOf(set) }, 'old replicaset pruned (revisionHistoryLimit)');
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private async scale(deployment: Deployment, set: ReplicaSet, replicas: number): Promise<void> {
    const from = set.spec?.replicas ?? 0;
    const wanted = deployment.spec?.replicas ?? 1;
    await this.context.apps.patchNamespacedReplicaSet(
      {
        name: nameOf(set),
        namespace: namespaceOf(set),
        body: {
          metadata: { resourceVersion: set.metadata?.resourceVersion, annotations: { [DESIRED_REPLICAS_ANNOTATION]: String(wanted) } },
          spec: { replicas },
        },
      },
      mergePatch(),
    );
    this.scaled(deployment, nameOf(set), from, replicas);
  }

  private scaled(deployment: Deployment, setName: string, from: number, to: number): void {
    const message = `Scaled ${to >= from ? 'up' : 'down'} replica set ${setName} from ${from} to ${to}`;
    this.context.events.emit({ kind: 'Deployment', apiVersion: 'apps/v1', object: deployment }, 'Normal', 'ScalingReplicaSet', message);
    this.context.logger.info({ deployment: keyOf(deployment), replicaset: setName, from, to }, 'deployment scaled a replicaset');
  }

  private async annotate(set: ReplicaSet, annotations: Record<string, string>): Promise<void> {
    await this.context.apps.patchNamespacedReplicaSet(
      { name: nameOf(set), namespace: namespaceOf(set), body: { metadata: { resourceVersion: set.metadata?.resourceVersion, annotations } } },
      mergePatch(),
    );
  }

  private async updateStatus(deployment: Deployment, newSet: ReplicaSet | undefined, sets: ReplicaSet[], limits: SurgeAndUnavailable): Promise<ReconcileOutcome> {
    const counts = deploymentCounts(newSet, sets);
    const current = deployment.status ?? {};
    const progressed = (Object.keys(counts) as Array<keyof typeof counts>).some((field) => ((current[field] as number | undefined) ?? 0) !== counts[field]);
    const now = this.context.now();
    const { conditions, deadlineAt } = deploymentConditions({ deployment, newSet, counts, maxUnavailable: limits.maxUnavailable, progressed, now });
    const status: Record<string, unknown> = { ...counts, observedGeneration: deployment.metadata?.generation ?? 0, conditions };
    const changed = Object.entries(status).some(([field, value]) => JSON.stringify(current[field] ?? 0) !== JSON.stringify(value));
    if (changed) {
      try {
        await this.context.apps.patchNamespacedDeploymentStatus({ name: nameOf(deployment), namespace: namespaceOf(deployment), body: { status } }, mergePatch());
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return deadlineAt === undefined ? undefined : { requeueAfterMs: Math.max(1000, deadlineAt - now + 100) };
  }
}
