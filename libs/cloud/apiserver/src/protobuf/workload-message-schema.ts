// Protobuf field numbers of apps/v1 Deployment, the kind `kubectl create deployment` sends as
// protobuf (and of the bare v1 Pod `kubectl debug node/...` sends), with the pod template fields kubectl's generator and common clients fill in; from
// k8s.io/api/apps/v1, core/v1 and apimachinery meta/v1 generated.proto. Go writes every non-pointer
// field (as a zero value when unset), so each of those must be listed even if it is rarely used.
import { LOCAL_OBJECT_REFERENCE, METADATA, map, message, s, scalar, type FieldSchema, type MessageSchema } from './message-schema';

const pointer = (field: FieldSchema): FieldSchema => ({ ...field, pointer: true });
const intOrString = (name: string): FieldSchema => ({ name, type: { kind: 'intOrString' }, pointer: true });

export const LABEL_SELECTOR: MessageSchema = {
  1: map('matchLabels'),
  2: message('matchExpressions', () => ({ 1: s('key'), 2: s('operator'), 3: s('values', true) }), true),
};

const CONTAINER_PORT: MessageSchema = { 1: s('name'), 2: scalar('hostPort', 'int32'), 3: scalar('containerPort', 'int32'), 4: s('protocol'), 5: s('hostIP') };

// ConfigMapKeySelector and SecretKeySelector: LocalObjectReference is embedded inline (its `name` sits beside `key`)
const KEY_SELECTOR: MessageSchema = {
  1: { name: 'localObjectReference', type: { kind: 'embedded', message: () => LOCAL_OBJECT_REFERENCE } },
  2: s('key'),
  3: pointer(scalar('optional', 'bool')),
};

const ENV_VAR: MessageSchema = {
  1: s('name'),
  2: s('value'),
  3: message('valueFrom', () => ({
    1: message('fieldRef', () => ({ 1: s('apiVersion'), 2: s('fieldPath') })),
    3: message('configMapKeyRef', () => KEY_SELECTOR),
    4: message('secretKeyRef', () => KEY_SELECTOR),
  })),
};

const RESOURCE_REQUIREMENTS: MessageSchema = { 1: map('limits', 'quantity'), 2: map('requests', 'quantity') };

const VOLUME_MOUNT: MessageSchema = { 1: s('name'), 2: scalar('readOnly', 'bool'), 3: s('mountPath'), 4: s('subPath'), 5: pointer(s('mountPropagation')), 6: s('subPathExpr') };

const CONTAINER: MessageSchema = {
  1: s('name'),
  2: s('image'),
  3: s('command', true),
  4: s('args', true),
  5: s('workingDir'),
  6: message('ports', () => CONTAINER_PORT, true),
  7: message('env', () => ENV_VAR, true),
  8: message('resources', () => RESOURCE_REQUIREMENTS),
  9: message('volumeMounts', () => VOLUME_MOUNT, true),
  13: s('terminationMessagePath'),
  14: s('imagePullPolicy'),
  16: scalar('stdin', 'bool'),
  17: scalar('stdinOnce', 'bool'),
  18: scalar('tty', 'bool'),
  20: s('terminationMessagePolicy'),
};

const POD_SPEC: MessageSchema = {
  2: message('containers', () => CONTAINER, true),
  3: s('restartPolicy'),
  4: pointer(scalar('terminationGracePeriodSeconds', 'int64')),
  6: s('dnsPolicy'),
  7: map('nodeSelector'),
  8: s('serviceAccountName'),
  9: s('serviceAccount'),
  10: s('nodeName'),
  11: scalar('hostNetwork', 'bool'),
  12: scalar('hostPID', 'bool'),
  13: scalar('hostIPC', 'bool'),
  15: message('imagePullSecrets', () => LOCAL_OBJECT_REFERENCE, true),
  16: s('hostname'),
  17: s('subdomain'),
  19: s('schedulerName'),
  20: message('initContainers', () => CONTAINER, true),
  21: pointer(scalar('automountServiceAccountToken', 'bool')),
  24: s('priorityClassName'),
  30: pointer(scalar('enableServiceLinks', 'bool')),
};

// the bare Pod `kubectl debug node/<name>` creates as protobuf: a hostPath volume, tolerations, host namespaces
const VOLUME: MessageSchema = {
  1: s('name'),
  // VolumeSource is embedded inline: its fields sit beside `name`
  2: { name: 'volumeSource', type: { kind: 'embedded', message: () => ({ 1: message('hostPath', () => ({ 1: s('path'), 2: pointer(s('type')) })), 2: message('emptyDir', () => ({ 1: s('medium') })) }) } },
};
const TOLERATION: MessageSchema = { 1: s('key'), 2: s('operator'), 3: s('value'), 4: s('effect'), 5: pointer(scalar('tolerationSeconds', 'int64')) };
const BARE_POD_SPEC: MessageSchema = { ...POD_SPEC, 1: message('volumes', () => VOLUME, true), 22: message('tolerations', () => TOLERATION, true) };
// a client sends an empty status: its non-pointer strings arrive as empty strings
const POD_STATUS: MessageSchema = { 1: s('phase'), 3: s('message'), 4: s('reason'), 5: s('hostIP'), 6: s('podIP'), 9: s('qosClass'), 11: s('nominatedNodeName'), 14: s('resize') };

export const POD_TEMPLATE_SPEC: MessageSchema = { 1: METADATA, 2: message('spec', () => POD_SPEC) };

const DEPLOYMENT_SPEC: MessageSchema = {
  1: pointer(scalar('replicas', 'int32')),
  2: message('selector', () => LABEL_SELECTOR),
  3: message('template', () => POD_TEMPLATE_SPEC),
  4: message('strategy', () => ({ 1: s('type'), 2: message('rollingUpdate', () => ({ 1: intOrString('maxUnavailable'), 2: intOrString('maxSurge') })) })),
  5: scalar('minReadySeconds', 'int32'),
  6: pointer(scalar('revisionHistoryLimit', 'int32')),
  7: scalar('paused', 'bool'),
  9: pointer(scalar('progressDeadlineSeconds', 'int32')),
};

// a client sends an empty status; its counters are non-pointer fields, written as zeros
const DEPLOYMENT_STATUS: MessageSchema = {
  1: scalar('observedGeneration', 'int64'),
  2: scalar('replicas', 'int32'),
  3: scalar('updatedReplicas', 'int32'),
  4: scalar('availableReplicas', 'int32'),
  5: scalar('unavailableReplicas', 'int32'),
  7: scalar('readyReplicas', 'int32'),
  8: pointer(scalar('collisionCount', 'int32')),
};

export const APPS_KIND_SCHEMAS: Readonly<Record<string, MessageSchema>> = {
  'v1/Pod': { 1: METADATA, 2: message('spec', () => BARE_POD_SPEC), 3: message('status', () => POD_STATUS) },
  'apps/v1/Deployment': { 1: METADATA, 2: message('spec', () => DEPLOYMENT_SPEC), 3: message('status', () => DEPLOYMENT_STATUS) },
};
