// Protobuf field numbers of what `kubectl drain` and client-go's typed clients send for evictions:
// policy/v1 and policy/v1beta1 Eviction (with its meta/v1 DeleteOptions), meta/v1 DeleteOptions as a
// DELETE body, and policy/v1 PodDisruptionBudget (`kubectl create poddisruptionbudget`); from
// k8s.io/api/policy/v1/generated.proto and k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.
import { LABEL_SELECTOR, METADATA, map, message, s, scalar, type FieldSchema, type MessageSchema } from './message-schema';

const pointer = (field: FieldSchema): FieldSchema => ({ ...field, pointer: true });
const intOrString = (name: string): FieldSchema => ({ name, type: { kind: 'intOrString' }, pointer: true });

const PRECONDITIONS: MessageSchema = { 1: pointer(s('uid')), 2: pointer(s('resourceVersion')) };

/** meta/v1 DeleteOptions; gracePeriodSeconds and orphanDependents are pointers, so a sent 0/false is kept. */
export const DELETE_OPTIONS: MessageSchema = {
  1: pointer(scalar('gracePeriodSeconds', 'int64')),
  2: message('preconditions', () => PRECONDITIONS),
  3: pointer(scalar('orphanDependents', 'bool')),
  4: pointer(s('propagationPolicy')),
  5: s('dryRun', true),
  6: pointer(scalar('ignoreStoreReadErrorWithClusterBreakingPotential', 'bool')),
};

const EVICTION: MessageSchema = { 1: METADATA, 2: message('deleteOptions', () => DELETE_OPTIONS) };

const CONDITION: MessageSchema = {
  1: s('type'),
  2: s('status'),
  3: scalar('observedGeneration', 'int64'),
  4: { name: 'lastTransitionTime', type: { kind: 'time' } },
  5: s('reason'),
  6: s('message'),
};

const POD_DISRUPTION_BUDGET: MessageSchema = {
  1: METADATA,
  2: message('spec', () => ({
    1: intOrString('minAvailable'),
    2: message('selector', () => LABEL_SELECTOR),
    3: intOrString('maxUnavailable'),
    4: pointer(s('unhealthyPodEvictionPolicy')),
  })),
  // a client sends an empty status: its counters are non-pointer fields, written as zeros
  3: message('status', () => ({
    1: scalar('observedGeneration', 'int64'),
    2: map('disruptedPods', 'time'),
    3: scalar('disruptionsAllowed', 'int32'),
    4: scalar('currentHealthy', 'int32'),
    5: scalar('desiredHealthy', 'int32'),
    6: scalar('expectedPods', 'int32'),
    7: message('conditions', () => CONDITION, true),
  })),
};

export const POLICY_KIND_SCHEMAS: Readonly<Record<string, MessageSchema>> = {
  'policy/v1/Eviction': EVICTION,
  'policy/v1beta1/Eviction': EVICTION,
  'policy/v1/PodDisruptionBudget': POD_DISRUPTION_BUDGET,
};

/**
 * Kinds whose encoding is the same in every group version they are sent in: DeleteOptions is one of
 * apimachinery's "unversioned" kinds, registered in every group version, so a typed client's DELETE body
 * says `v1`, `apps/v1`, `policy/v1` or `meta.k8s.io/v1` depending on the client that sent it.
 */
export function kindSchemaAnyVersion(kind: string): MessageSchema | undefined {
  return kind === 'DeleteOptions' ? DELETE_OPTIONS : undefined;
}
