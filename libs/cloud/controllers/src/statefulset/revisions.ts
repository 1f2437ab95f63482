// A StatefulSet's ControllerRevisions (upstream pkg/controller/history): each distinct pod template
// is stored once as apps/v1 ControllerRevision `<set>-<hash>` whose data is the patch that restores
// it, numbered in order; rolling back to an old template gives that revision the next number.
import type { ControllerRevision, PodTemplate, StatefulSet } from '../objects';
import { controllerOf, nameOf, namespaceOf } from '../objects';
import { controllerReference } from '../pod-control';
import { podTemplateHash, sameTemplate } from '../deployment/pod-template-hash';

/** The label on revisions (upstream ControllerRevisionHashLabel) */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

/** What a revision stores: the template as a patch, as upstream's getPatch. */
export function revisionData(set: StatefulSet): { spec: { template: PodTemplate & { $patch: 'replace' } } } {
  return { spec: { template: { ...(JSON.parse(JSON.stringify(set.spec?.template ?? {})) as PodTemplate), $patch: 'replace' } } };
}

export function templateOf(revision: ControllerRevision): PodTemplate | undefined {
  const data = revision.data as { spec?: { template?: PodTemplate & { $patch?: string } } } | undefined;
  const template = data?.spec?.template;
  if (template === undefined) return undefined;
  const { $patch: _ignored, ...rest } = template;
  return rest;
}

export function newRevision(set: StatefulSet, revision: number, collisionCount: number): ControllerRevision {
  const hash = podTemplateHash(set.spec?.template, collisionCount);
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: `${nameOf(set)}-${hash}`,
      namespace: namespaceOf(set),
      labels: { ...(set.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
      ownerReferences: [controllerReference(set, 'StatefulSet')],
    },
    data: revisionData(set),
    revision,
  };
}

/** The set's own revisions, oldest first. */
export function revisionsOf(set: StatefulSet, all: ControllerRevision[]): ControllerRevision[] {
  const uid = set.metadata?.uid ?? '';
  return all.filter((revision) => controllerOf(revision)?.uid === uid).sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
}

/** The newest revision holding exactly this template. */
export function findMatching(set: StatefulSet, revisions: ControllerRevision[]): ControllerRevision | undefined {
  return [...revisions].reverse().find((revision) => sameTemplate(templateOf(revision), set.spec?.template));
}
