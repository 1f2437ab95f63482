// Query parameters of reads and writes, checked the way apiserver checks them (400 on nonsense).
import { badRequest, invalid, parseFieldSelector, parseLabelSelector, SelectorParseError, type FieldRequirement, type LabelRequirement } from '@kedge/kube-core';
import { checkSelectableFields } from '../registry';
import { managerName } from '../managed-fields';
import type { ResourceType } from '../resources';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface Selectors {
  labelSelector: LabelRequirement[];
  fieldSelector: FieldRequirement[];
}

export function parseSelectors(query: URLSearchParams, type: ResourceType): Selectors {
  try {
    const selectors = {
      labelSelector: parseLabelSelector(query.get('labelSelector') ?? undefined),
      fieldSelector: parseFieldSelector(query.get('fieldSelector') ?? undefined),
    };
    checkSelectableFields(type, selectors.fieldSelector);
    return selectors;
  } catch (error) {
    if (error instanceof SelectorParseError) throw badRequest(error.message);
    throw error;
  }
}

export function parseFieldSelectorOnly(query: URLSearchParams): FieldRequirement[] {
  try {
    return parseFieldSelector(query.get('fieldSelector') ?? undefined);
  } catch (error) {
    if (error instanceof SelectorParseError) throw badRequest(error.message);
    throw error;
  }
}

export function nonNegativeInteger(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw badRequest(`${name}: Invalid value: "${text}": must be a non-negative integer`);
  }
  return Number(text);
}

export function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw badRequest(`${name}: Invalid value: "${text}": must be true or false`);
}

export function dryRunParam(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const value of values) {
    if (value !== 'All') throw badRequest(`Invalid dryRun value: ${value}; the only supported value is All`);
  }
  return values.length > 0;
}

export function fieldValidationParam(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation');
  if (value === null || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw badRequest(`fieldValidation: Invalid value: "${value}": must be one of Ignore, Warn, Strict`);
}

export function fieldManagerParam(query: URLSearchParams, userAgent: string | undefined): string {
  const value = query.get('fieldManager') ?? undefined;
  if (value !== undefined && value.length > 128) {
    throw invalid('meta.k8s.io', 'PatchOptions', '', [
      { reason: 'FieldValueTooLong', field: 'fieldManager', message: 'Too long: may not be more than 128 bytes' },
    ]);
  }
  return managerName(value, userAgent);
}

