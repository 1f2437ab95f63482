// apps/v1 workloads (Deployment, ReplicaSet, DaemonSet, StatefulSet), after upstream
// pkg/apis/apps/validation, much reduced: the selector and its match with the template labels, the
// pod template (through the pod spec validation, so paths read `spec.template.spec...`), counts,
// update strategies, and what an update may not change. Runs on defaulted objects.
import { isRecord } from '@kedge/kube-core';
import type { FieldError } from './field-error';
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, pathChild } from './field-error';
import { dns1035LabelProblems } from './names';
import { validateAnnotations, validateLabels, validateObjectMeta } from './object-meta';
import { validatePodSpec } from './pod';
import type { JsonObject } from '../json';
import { own, readBoolean, readInteger, readObject, readString, readStringMap } from './read';
import { isEmptySelector, readLabelSelector, selectorMatches, type LabelSelector } from './workload-selector';

export const WORKLOAD_KINDS = ['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

const DEPLOYMENT_STRATEGIES = ['Recreate', 'RollingUpdate'];
const SET_UPDATE_STRATEGIES = ['OnDelete', 'RollingUpdate'];
const POD_MANAGEMENT_POLICIES = ['OrderedReady', 'Parallel'];
const PVC_RETENTION_POLICIES = ['Retain', 'Delete'];
const PERCENT = /^[0-9]+%$/;

/** StatefulSet spec fields an update may change (upstream ValidateStatefulSetUpdate). */
const STATEFUL_SET_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

const STATUS_COUNTS: Readonly<Record<WorkloadKind, readonly string[]>> = {
  Deployment: ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'collisionCount'],
  ReplicaSet: ['observedGeneration', 'replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'],
  DaemonSet: ['observedGeneration', 'currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'updatedNumberScheduled',
    'numberAvailable', 'numberUnavailable', 'collisionCount'],
  StatefulSet: ['observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'collisionCount'],
};

export function isWorkloadKind(kind: string): kind is WorkloadKind {
  return (WORKLOAD_KINDS as readonly string[]).includes(kind);
}

/** Equality of JSON values regardless of key order (patches may reorder keys). */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a).filter((key) => a[key] !== undefined);
    return keys.length === Object.keys(b).filter((key) => b[key] !== undefined).length && keys.every((key) => sameJson(a[key], own(b, key)));
  }
  return a === b;
}

function nonNegative(value: unknown, path: string, errs: FieldError[]): number | undefined {
  const number = readInteger(value, path, errs);
  if (number !== undefined && number < 0) errs.push(fieldInvalid(path, number, 'must be greater than or equal to 0'));
  return number;
}

/** An int-or-percent such as maxUnavailable; returns whether it is zero (0 or "0%"). */
function intOrPercent(value: unknown, path: string, errs: FieldError[], atMostHundredPercent: boolean): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'number') {
    nonNegative(value, path, errs);
    return value === 0;
  }
  if (typeof value !== 'string') {
    errs.push(fieldInvalid(path, value, 'must be an integer or percentage (e.g \'5%\')'));
    return false;
  }
  if (!PERCENT.test(value)) {
    errs.push(
      fieldInvalid(path, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"),
    );
    return false;
  }
  const percent = Number.parseInt(value, 10);
  if (atMostHundredPercent && percent > 100) errs.push(fieldInvalid(path, value, 'must not be greater than 100%'));
  return percent === 0;
}

function validateRollingUpdate(value: JsonObject, path: string, errs: FieldError[]): void {
  const unavailablePath = pathChild(path, 'maxUnavailable');
  const unavailableZero = intOrPercent(value['maxUnavailable'], unavailablePath, errs, true);
  const surgeZero = intOrPercent(value['maxSurge'], pathChild(path, 'maxSurge'), errs, false);
  if (unavailableZero && surgeZero && value['maxUnavailable'] !== undefined) {
    errs.push(fieldInvalid(unavailablePath, value['maxUnavailable'], 'may not be 0 when `maxSurge` is 0'));
  }
}

/** A `{type, rollingUpdate}` strategy: rollingUpdate only with type RollingUpdate. */
function validateStrategy(value: unknown, path: string, types: readonly string[], errs: FieldError[], checkRollingUpdate: (update: JsonObject, path: string) => void): void {
  const strategy = readObject(value, path, errs);
  if (!strategy) return;
  const typePath = pathChild(path, 'type');
  const type = readString(strategy['type'], typePath, errs);
  const updatePath = pathChild(path, 'rollingUpdate');
  const rollingUpdate = readObject(strategy['rollingUpdate'], updatePath, errs);
  if (type === undefined || type === '') errs.push(fieldRequired(typePath));
  else if (!types.includes(type)) errs.push(fieldNotSupported(typePath, type, types));
  else if (type !== 'RollingUpdate' && rollingUpdate !== undefined) {
    errs.push(fieldForbidden(updatePath, `may not be specified when strategy \`type\` is '${type}'`));
  }
  if (rollingUpdate !== undefined) checkRollingUpdate(rollingUpdate, updatePath);
}

function validateSelector(spec: JsonObject, kind: WorkloadKind, errs: FieldError[]): LabelSelector | undefined {
  const path = 'spec.selector';
  const value = own(spec, 'selector');
  if (value === undefined || value === null) {
    errs.push(fieldRequired(path));
    return undefined;
  }
  const before = errs.length;
  const selector = readLabelSelector(value, path, errs);
  if (selector !== undefined && isEmptySelector(selector)) {
    errs.push(fieldInvalid(path, value, `empty selector is invalid for ${kind === 'ReplicaSet' ? 'deployment' : kind.toLowerCase()}`));
  }
  // a selector that does not parse is not matched against the template (upstream skips that check too)
  return errs.length === before ? selector : undefined;
}

/** The pod template: its labels must be selected, and the pods must restart Always (upstream ValidatePodTemplateSpecForReplicaSet). */
function validateTemplate(spec: JsonObject, kind: WorkloadKind, selector: LabelSelector | undefined, errs: FieldError[]): void {
  const path = 'spec.template';
  const value = own(spec, 'template');
  if (value === undefined || value === null) {
    errs.push(fieldRequired(path));
    return;
  }
  const template = readObject(value, path, errs);
  if (!template) return;
  const metadata = readObject(own(template, 'metadata'), pathChild(path, 'metadata'), errs) ?? {};
  const labelsPath = 'spec.template.metadata.labels';
  errs.push(...validateLabels(metadata['labels'], labelsPath));
  errs.push(...validateAnnotations(metadata['annotations'], 'spec.template.metadata.annotations'));
  if (selector !== undefined && !isEmptySelector(selector) && !selectorMatches(selector, readStringMap(metadata['labels'], labelsPath, []))) {
    errs.push(fieldInvalid(labelsPath, metadata['labels'] ?? {}, '`selector` does not match template `labels`'));
  }
  const specPath = pathChild(path, 'spec');
  validatePodSpec(own(template, 'spec'), specPath, errs);
  const podSpec = isRecord(own(template, 'spec')) ? (own(template, 'spec') as JsonObject) : {};
  const restartPolicy = podSpec['restartPolicy'];
  if (typeof restartPolicy === 'string' && restartPolicy !== 'Always') {
    errs.push(fieldNotSupported(pathChild(specPath, 'restartPolicy'), restartPolicy, ['Always']));
  }
  if (podSpec['activeDeadlineSeconds'] !== undefined && podSpec['activeDeadlineSeconds'] !== null) {
    errs.push(fieldForbidden(pathChild(specPath, 'activeDeadlineSeconds'), `activeDeadlineSeconds in ${kind} is not Supported`));
  }
}

function validateDeploymentSpec(spec: JsonObject, errs: FieldError[]): void {
  validateStrategy(spec['strategy'], 'spec.strategy', DEPLOYMENT_STRATEGIES, errs, (update, path) => validateRollingUpdate(update, path, errs));
  if (isRecord(spec['strategy']) && spec['strategy']['type'] === 'RollingUpdate' && spec['strategy']['rollingUpdate'] === undefined) {
    errs.push(fieldRequired('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
  }
  nonNegative(spec['revisionHistoryLimit'], 'spec.revisionHistoryLimit', errs);
  readBoolean(spec['paused'], 'spec.paused', errs);
  const deadline = nonNegative(spec['progressDeadlineSeconds'], 'spec.progressDeadlineSeconds', errs);
  const minReady = typeof spec['minReadySeconds'] === 'number' ? spec['minReadySeconds'] : 0;
  if (deadline !== undefined && deadline <= minReady) {
    errs.push(fieldInvalid('spec.progressDeadlineSeconds', deadline, 'must be greater than minReadySeconds'));
  }
}

function validateDaemonSetSpec(spec: JsonObject, errs: FieldError[]): void {
  validateStrategy(spec['updateStrategy'], 'spec.updateStrategy', SET_UPDATE_STRATEGIES, errs, (update, path) => validateRollingUpdate(update, path, errs));
  nonNegative(spec['revisionHistoryLimit'], 'spec.revisionHistoryLimit', errs);
}

function validateStatefulSetSpec(spec: JsonObject, errs: FieldError[]): void {
  const policy = readString(spec['podManagementPolicy'], 'spec.podManagementPolicy', errs);
  if (policy === undefined || policy === '') errs.push(fieldRequired('spec.podManagementPolicy'));
  else if (!POD_MANAGEMENT_POLICIES.includes(policy)) errs.push(fieldNotSupported('spec.podManagementPolicy', policy, POD_MANAGEMENT_POLICIES));
  validateStrategy(spec['updateStrategy'], 'spec.updateStrategy', SET_UPDATE_STRATEGIES, errs, (update, path) => {
    nonNegative(update['partition'], pathChild(path, 'partition'), errs);
    if (update['maxUnavailable'] !== undefined) intOrPercent(update['maxUnavailable'], pathChild(path, 'maxUnavailable'), errs, true);
  });
  nonNegative(spec['revisionHistoryLimit'], 'spec.revisionHistoryLimit', errs);
  // serviceName is optional since Kubernetes 1.30; when given it names a Service
  const serviceName = readString(spec['serviceName'], 'spec.serviceName', errs);
  if (serviceName) for (const problem of dns1035LabelProblems(serviceName)) errs.push(fieldInvalid('spec.serviceName', serviceName, problem));
  const retention = readObject(spec['persistentVolumeClaimRetentionPolicy'], 'spec.persistentVolumeClaimRetentionPolicy', errs);
  for (const field of ['whenDeleted', 'whenScaled']) {
    const path = `spec.persistentVolumeClaimRetentionPolicy.${field}`;
    const value = retention === undefined ? undefined : readString(retention[field], path, errs);
    if (value !== undefined && !PVC_RETENTION_POLICIES.includes(value)) errs.push(fieldNotSupported(path, value, PVC_RETENTION_POLICIES));
  }
  const ordinals = readObject(spec['ordinals'], 'spec.ordinals', errs);
  if (ordinals !== undefined) nonNegative(ordinals['start'], 'spec.ordinals.start', errs);
}

function validateUpdate(kind: WorkloadKind, spec: JsonObject, previousSpec: JsonObject, errs: FieldError[]): void {
  if (kind === 'StatefulSet') {
    const changed = Object.keys({ ...spec, ...previousSpec }).filter((field) => !STATEFUL_SET_MUTABLE.includes(field) && !sameJson(own(spec, field), own(previousSpec, field)));
    if (changed.length > 0) {
      errs.push(
        fieldForbidden(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
    }
    return;
  }
  if (!sameJson(own(spec, 'selector'), own(previousSpec, 'selector'))) errs.push(fieldInvalid('spec.selector', own(spec, 'selector') ?? null, 'field is immutable'));
}

function validateStatus(kind: WorkloadKind, value: unknown, errs: FieldError[]): void {
  const status = readObject(value, 'status', errs);
  if (!status) return;
  for (const field of STATUS_COUNTS[kind]) nonNegative(status[field], `status.${field}`, errs);
}

/** Field errors of a workload (metadata included); `previous` is the stored object on update. */
export function validateWorkload(kind: WorkloadKind, object: unknown, previous?: unknown): FieldError[] {
  if (!isRecord(object)) return [fieldInvalid('', object, 'must be an object')];
  const errs = validateObjectMeta(own(object, 'metadata'), { namespaced: true, kind });
  const spec = readObject(own(object, 'spec'), 'spec', errs) ?? {};
  if (kind !== 'DaemonSet') nonNegative(spec['replicas'], 'spec.replicas', errs);
  nonNegative(spec['minReadySeconds'], 'spec.minReadySeconds', errs);
  const selector = validateSelector(spec, kind, errs);
  validateTemplate(spec, kind, selector, errs);
  if (kind === 'Deployment') validateDeploymentSpec(spec, errs);
  if (kind === 'DaemonSet') validateDaemonSetSpec(spec, errs);
  if (kind === 'StatefulSet') validateStatefulSetSpec(spec, errs);
  if (isRecord(previous)) validateUpdate(kind, spec, isRecord(own(previous, 'spec')) ? (own(previous, 'spec') as JsonObject) : {}, errs);
  validateStatus(kind, own(object, 'status'), errs);
  return errs;
}
