// Entry point for built-in kinds: metadata rules with the kind's scope and name rule, then the
// kind's own light checks. Unknown kinds yield no errors (the API layer decides what it serves).
import { isRecord } from '@kedge/kube-core';
import type { FieldError } from './field-error';
import { fieldWrongType } from './field-error';
import { validateObjectMeta } from './object-meta';
import {
  validateConfigMap,
  validateEndpoints,
  validateEvent,
  validateLease,
  validateNamespace,
  validateNode,
  validateSecret,
  validateService,
  validateServiceAccount,
} from './core-kinds';
import { validatePodSpec } from './pod';
import type { JsonObject } from '../json';
import { own } from './read';

interface KindRule {
  namespaced: boolean;
  validate: (obj: JsonObject, errs: FieldError[]) => void;
}

const KINDS: Record<string, KindRule> = {
  Pod: { namespaced: true, validate: (o, e) => validatePodSpec(own(o, 'spec'), 'spec', e) },
  ConfigMap: { namespaced: true, validate: validateConfigMap },
  Secret: { namespaced: true, validate: validateSecret },
  Service: { namespaced: true, validate: validateService },
  Endpoints: { namespaced: true, validate: validateEndpoints },
  Event: { namespaced: true, validate: validateEvent },
  ServiceAccount: { namespaced: true, validate: validateServiceAccount },
  Lease: { namespaced: true, validate: validateLease },
  Namespace: { namespaced: false, validate: validateNamespace },
  Node: { namespaced: false, validate: validateNode },
};

/** Kinds validateBuiltin knows, with their scope. */
export const BUILTIN_KIND_SCOPES: Readonly<Record<string, 'Namespaced' | 'Cluster'>> = Object.fromEntries(
  Object.entries(KINDS).map(([k, r]) => [k, r.namespaced ? 'Namespaced' : 'Cluster']),
);

export interface BuiltinValidationOptions {
  /** the namespace from the request URL (metadata.namespace may be omitted, or must match) */
  namespace?: string;
}

/** Validates a built-in object (metadata included). Secrets should go through normalizeSecret first. */
export function validateBuiltin(kind: string, obj: unknown, opts: BuiltinValidationOptions = {}): FieldError[] {
  const rule = Object.prototype.hasOwnProperty.call(KINDS, kind) ? KINDS[kind] : undefined;
  if (!rule) return [];
  if (!isRecord(obj)) return [fieldWrongType('', obj, 'object')];
  const errs = validateObjectMeta(own(obj, 'metadata'), {
    namespaced: rule.namespaced,
    kind,
    ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
  });
  rule.validate(obj, errs);
  return errs;
}
