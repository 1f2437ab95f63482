// Query parameters of reads and writes. Decoding and validation are kube-core's (shared with
// MetaServer, worded as kube-apiserver words them); this file adds what needs this server's
// knowledge: which fields a type can be selected by, and the default field manager.
import {
  badRequest,
  parseFieldSelector,
  parseLabelSelector,
  parseListOptions,
  parsePatchOptions,
  parseWriteOptions,
  SelectorParseError,
  type FieldRequirement,
  type LabelRequirement,
  type ListOptions,
  type PatchOptions,
  type WriteOptions,
} from '@kedge/kube-core';
import { checkSelectableFields } from '../registry';
import { managerName } from '../managed-fields';
import type { ResourceType } from '../resources';

export type { FieldValidation } from '@kedge/kube-core';

export interface Selectors {
  labelSelector: LabelRequirement[];
  fieldSelector: FieldRequirement[];
}

function compileSelectors(type: ResourceType, labelSelector: string, fieldSelector: string): Selectors {
  try {
    const selectors = { labelSelector: parseLabelSelector(labelSelector), fieldSelector: parseFieldSelector(fieldSelector) };
    checkSelectableFields(type, selectors.fieldSelector);
    return selectors;
  } catch (error) {
    if (error instanceof SelectorParseError) throw badRequest(error.message);
    throw error;
  }
}

/** List or watch options with their selectors compiled for `type`. @throws StatusError 400/422 */
export function listOptionsOf(query: URLSearchParams, type: ResourceType, watch: boolean): ListOptions & { selectors: Selectors } {
  const options = parseListOptions(query, watch);
  return { ...options, selectors: compileSelectors(type, options.labelSelector, options.fieldSelector) };
}

/** Selectors alone (deletecollection). */
export function parseSelectors(query: URLSearchParams, type: ResourceType): Selectors {
  return compileSelectors(type, query.get('labelSelector') ?? '', query.get('fieldSelector') ?? '');
}

export function parseFieldSelectorOnly(query: URLSearchParams): FieldRequirement[] {
  try {
    return parseFieldSelector(query.get('fieldSelector') ?? undefined);
  } catch (error) {
    if (error instanceof SelectorParseError) throw badRequest(error.message);
    throw error;
  }
}

export interface ServerWriteOptions extends Omit<WriteOptions, 'fieldManager'> {
  /** the given field manager, or the User-Agent's product as kube-apiserver defaults it */
  fieldManager: string;
}

/** @throws StatusError 422 Invalid CreateOptions/UpdateOptions */
export function writeOptionsOf(query: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions', userAgent: string | undefined): ServerWriteOptions {
  // most writes have no query: their options depend on the User-Agent alone
  if (query.size === 0) {
    const key = `${kind} ${userAgent ?? ''}`;
    const known = NO_QUERY_OPTIONS.get(key);
    if (known !== undefined) return known;
    const options = Object.freeze(decodeWriteOptions(query, kind, userAgent));
    if (NO_QUERY_OPTIONS.size >= NO_QUERY_OPTIONS_KEPT) NO_QUERY_OPTIONS.clear();
    NO_QUERY_OPTIONS.set(key, options);
    return options;
  }
  return decodeWriteOptions(query, kind, userAgent);
}

/** write options of query-less requests by kind and User-Agent (frozen: shared by every such request) */
const NO_QUERY_OPTIONS = new Map<string, ServerWriteOptions>();
const NO_QUERY_OPTIONS_KEPT = 256;

function decodeWriteOptions(query: URLSearchParams, kind: 'CreateOptions' | 'UpdateOptions', userAgent: string | undefined): ServerWriteOptions {
  const options = parseWriteOptions(query, kind);
  return { ...options, fieldManager: managerName(options.fieldManager, userAgent) };
}

/** @throws StatusError 422 Invalid PatchOptions */
export function patchOptionsOf(query: URLSearchParams, apply: boolean, userAgent: string | undefined): Omit<PatchOptions, 'fieldManager'> & ServerWriteOptions {
  const options = parsePatchOptions(query, apply);
  return { ...options, fieldManager: managerName(options.fieldManager, userAgent) };
}

