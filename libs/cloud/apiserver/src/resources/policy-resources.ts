// policy/v1 PodDisruptionBudget: stored, validated as kube-apiserver's ValidatePodDisruptionBudget,
// with its status kept apart (written by the disruption controller in @kedge/controllers and by the
// eviction subresource, which decrements status.disruptionsAllowed).
import { AGE_COLUMN, column, humanAge, isRecord, NAME_COLUMN, recordAt, type KubeObject, type TableConverter } from '@kedge/kube-core';
import {
  fieldInvalid,
  fieldNotSupported,
  fieldWrongType,
  readLabelSelector,
  toStatusCauses,
  validateObjectMeta,
  type FieldError,
} from '../validation';
import { defineBuiltin } from './builtin-type';
import type { ResourceType } from './resource-type';

export const UNHEALTHY_POD_EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'] as const;

const PERCENT = /^[0-9]+%$/;

/** ValidatePositiveIntOrPercent and IsNotMoreThan100Percent of upstream's apps validation. */
function intOrPercentErrors(value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return [fieldWrongType(path, value, 'integer or string')];
    return value < 0 ? [fieldInvalid(path, value, 'must be greater than or equal to 0')] : [];
  }
  if (typeof value !== 'string') return [fieldWrongType(path, value, 'integer or string')];
  if (!PERCENT.test(value)) {
    return [fieldInvalid(path, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  return Number(value.slice(0, -1)) > 100 ? [fieldInvalid(path, value, 'must not be greater than 100%')] : [];
}

const STATUS_COUNTERS = ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'] as const;

export function validatePodDisruptionBudget(object: KubeObject): FieldError[] {
  const errs = validateObjectMeta(object.metadata, { namespaced: true, kind: 'PodDisruptionBudget' });
  const spec = object['spec'];
  if (spec !== undefined && spec !== null && !isRecord(spec)) return [...errs, fieldWrongType('spec', spec, 'object')];
  const minAvailable = isRecord(spec) ? spec['minAvailable'] : undefined;
  const maxUnavailable = isRecord(spec) ? spec['maxUnavailable'] : undefined;
  if (minAvailable !== undefined && minAvailable !== null && maxUnavailable !== undefined && maxUnavailable !== null) {
    errs.push(fieldInvalid('spec', { minAvailable, maxUnavailable }, 'minAvailable and maxUnavailable cannot be both set'));
  }
  errs.push(...intOrPercentErrors(minAvailable, 'spec.minAvailable'), ...intOrPercentErrors(maxUnavailable, 'spec.maxUnavailable'));
  if (isRecord(spec)) {
    readLabelSelector(spec['selector'], 'spec.selector', errs);
    const policy = spec['unhealthyPodEvictionPolicy'];
    if (policy !== undefined && policy !== null && !(UNHEALTHY_POD_EVICTION_POLICIES as readonly unknown[]).includes(policy)) {
      errs.push(fieldNotSupported('spec.unhealthyPodEvictionPolicy', policy, UNHEALTHY_POD_EVICTION_POLICIES));
    }
  }
  const status = recordAt(object, ['status']);
  for (const counter of STATUS_COUNTERS) {
    const value = status?.[counter];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) errs.push(fieldWrongType(`status.${counter}`, value, 'integer'));
    else if (value < 0) errs.push(fieldInvalid(`status.${counter}`, value, 'must be greater than or equal to 0'));
  }
  return errs;
}

const intOrPercentCell = (object: KubeObject, field: string): string => {
  const value = recordAt(object, ['spec'])?.[field];
  return typeof value === 'number' || typeof value === 'string' ? String(value) : 'N/A';
};

/** printPodDisruptionBudget upstream. */
export const podDisruptionBudgetTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Min Available', 'The minimum number of pods that must be available.'),
    column('Max Unavailable', 'The maximum number of pods that may be unavailable.'),
    column('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', { type: 'integer' }),
    AGE_COLUMN,
  ],
  cells: (object, now) => {
    const allowed = recordAt(object, ['status'])?.['disruptionsAllowed'];
    return [
      object.metadata.name ?? '',
      intOrPercentCell(object, 'minAvailable'),
      intOrPercentCell(object, 'maxUnavailable'),
      typeof allowed === 'number' ? allowed : 0,
      humanAge(object.metadata.creationTimestamp, now),
    ];
  },
};

/** The zero status Go serialises for a new budget (its counters are not omitempty). */
function initialStatus(): Record<string, unknown> {
  return { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
}

export function policyResources(): ResourceType[] {
  return [
    defineBuiltin({
      group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true,
      shortNames: ['pdb'], subresources: ['status'], table: podDisruptionBudgetTable,
      prepareForCreate: (object) => {
        object['status'] = initialStatus();
      },
      validate: (object) => toStatusCauses(validatePodDisruptionBudget(object)),
    }),
  ];
}
