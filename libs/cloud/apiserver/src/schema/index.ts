// Structural openAPIV3Schema support for custom resources: validation with Kubernetes-style field
// errors, pruning of unknown fields, defaulting, and the structural-schema check for CRDs.
//
// Why not ajv: ajv reports JSON-pointer paths with its own messages, has no notion of
// x-kubernetes-int-or-string/embedded-resource/list-type, and defaults differently (Kubernetes
// prunes and defaults inside additionalProperties and items, and drops nulls first). Pruning and
// defaulting need a schema walker anyway, so one small walker does all three, without generating
// code for every (user-supplied) CRD schema.
import type { FieldError } from '../validation/index';
import { compileNode } from './node';
import { defaultValue, pruneValue } from './prune-default';
import { validateValue } from './validate';

export interface StructuralValidator {
  /** the schema this validator was compiled from */
  readonly schema: unknown;
  /** field errors for `obj` ([] when valid); unknown fields are not errors (prune drops them) */
  validate(obj: unknown): FieldError[];
  /** a copy of `obj` without fields the schema does not describe (root apiVersion/kind/metadata stay) */
  prune(obj: unknown): unknown;
  /** a copy of `obj` with schema defaults applied to missing fields */
  applyDefaults(obj: unknown): unknown;
}

/** Compiles an openAPIV3Schema; never throws (check isStructuralSchema first to refuse bad CRDs). */
export function compileStructuralSchema(openAPIV3Schema: unknown): StructuralValidator {
  const root = compileNode(openAPIV3Schema);
  return {
    schema: openAPIV3Schema,
    validate(obj) {
      const errs: FieldError[] = [];
      validateValue(root, obj, '', errs, 0, true);
      return errs;
    },
    prune: (obj) => pruneValue(root, obj, 0, true),
    applyDefaults: (obj) => defaultValue(root, obj, 0, true),
  };
}

export { isStructuralSchema } from './structural';
