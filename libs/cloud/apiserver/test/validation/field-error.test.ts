import { describe, expect, it } from 'vitest';
import {
  ValidationError,
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldTooLong,
  fieldWrongType,
  formatFieldError,
  formatInvalidMessage,
  pathChild,
  pathIndex,
  pathKey,
  toStatusCauses,
} from '../../src/validation/index';

describe('validation - field errors', () => {
  it('field errors - render bodies like upstream field.Error', () => {
    expect(formatFieldError(fieldRequired('spec.containers[0].image'))).toBe('spec.containers[0].image: Required value');
    expect(formatFieldError(fieldInvalid('spec.replicas', -1, 'must be greater than or equal to 0'))).toBe(
      'spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    );
    expect(fieldNotSupported('spec.restartPolicy', 'Sometimes', ['Always', 'OnFailure', 'Never']).message).toBe(
      'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    );
    expect(fieldDuplicate('spec.containers[1].name', 'web').message).toBe('Duplicate value: "web"');
    expect(fieldTooLong('metadata.annotations', '', 262144).message).toBe('Too long: may not be more than 262144 bytes');
    expect(fieldForbidden('metadata.namespace', 'not allowed on this type').message).toBe('Forbidden: not allowed on this type');
  });

  it('field errors - wrong JSON type uses the kube-openapi wording and the cause type FieldValueTypeInvalid', () => {
    const e = fieldWrongType('spec.replicas', 'three', 'integer');
    expect(e.type).toBe('FieldValueTypeInvalid');
    expect(formatFieldError(e)).toBe('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"');
  });

  it('field errors - path builders follow field.Path.String()', () => {
    expect(pathIndex(pathChild(pathChild('', 'spec'), 'containers'), 0)).toBe('spec.containers[0]');
    expect(pathKey('data', 'a.b')).toBe('data[a.b]');
  });

  it('field errors - Status message and causes for a 422', () => {
    const errs = [fieldRequired('spec.containers'), fieldInvalid('metadata.name', 'A', 'bad')];
    expect(formatInvalidMessage('Pod', 'web', errs.slice(0, 1))).toBe('Pod "web" is invalid: spec.containers: Required value');
    expect(formatInvalidMessage('Pod', 'web', errs)).toBe('Pod "web" is invalid: [spec.containers: Required value, metadata.name: Invalid value: "A": bad]');
    expect(toStatusCauses(errs)[0]).toEqual({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
    const thrown = new ValidationError(errs, 'Pod', 'web');
    expect(thrown.status).toBe(422);
    expect(thrown.message).toContain('is invalid');
  });
});
