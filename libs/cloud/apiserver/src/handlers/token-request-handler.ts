// POST .../namespaces/<ns>/serviceaccounts/<name>/token: a TokenRequest (authentication.k8s.io/v1), as
// `kubectl create token` sends it. The answer carries a signed JWT for the service account, optionally
// bound to a Pod, Secret or Node so that it dies with that object.
import { conflict, formatTimestamp, invalid, isRecord, recordAt, type KubeObject } from '@kedge/kube-core';
import { sendJson } from '../http';
import { fieldInvalid, fieldNotSupported, fieldRequired, fieldWrongType, toStatusCauses, type FieldError } from '../validation';
import type { BoundObjectKind, ObjectBinding } from '../auth';
import type { ResourceType } from '../resources';
import { namespaceOf, type ResourceRequest } from './request-context';
import { readObjectBody } from './request-objects';

const AUTHENTICATION_API_VERSION = 'authentication.k8s.io/v1';
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
const BOUND_KINDS: Record<BoundObjectKind, { plural: string; namespaced: boolean }> = {
  Pod: { plural: 'pods', namespaced: true },
  Secret: { plural: 'secrets', namespaced: true },
  Node: { plural: 'nodes', namespaced: false },
};

interface TokenRequestSpec {
  audiences: string[] | undefined;
  expirationSeconds: number;
  boundObjectRef: { kind: string; apiVersion: string; name: string; uid: string } | undefined;
}

function readSpec(body: KubeObject): { spec: TokenRequestSpec; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const raw = body['spec'] ?? {};
  const spec: TokenRequestSpec = { audiences: undefined, expirationSeconds: DEFAULT_EXPIRATION_SECONDS, boundObjectRef: undefined };
  if (!isRecord(raw)) return { spec, errors: [fieldWrongType('spec', raw, 'object')] };
  const audiences = raw['audiences'];
  if (audiences !== undefined && audiences !== null) {
    if (!Array.isArray(audiences) || audiences.some((audience) => typeof audience !== 'string' || audience === '')) {
      errors.push(fieldInvalid('spec.audiences', audiences, 'must be a list of non-empty strings'));
    } else if (audiences.length > 0) spec.audiences = audiences as string[];
  }
  const expiration = raw['expirationSeconds'];
  if (expiration !== undefined && expiration !== null) {
    if (typeof expiration !== 'number' || !Number.isInteger(expiration)) errors.push(fieldWrongType('spec.expirationSeconds', expiration, 'integer'));
    else if (expiration < MIN_EXPIRATION_SECONDS) errors.push(fieldInvalid('spec.expirationSeconds', expiration, 'may not specify a duration less than 10 minutes'));
    else if (expiration > MAX_EXPIRATION_SECONDS) errors.push(fieldInvalid('spec.expirationSeconds', expiration, 'may not specify a duration larger than 2^32 seconds'));
    else spec.expirationSeconds = expiration;
  }
  const bound = raw['boundObjectRef'];
  if (bound !== undefined && bound !== null) {
    if (!isRecord(bound)) errors.push(fieldWrongType('spec.boundObjectRef', bound, 'object'));
    else {
      const text = (field: string): string => (typeof bound[field] === 'string' ? (bound[field] as string) : '');
      spec.boundObjectRef = { kind: text('kind'), apiVersion: text('apiVersion'), name: text('name'), uid: text('uid') };
      if (!(spec.boundObjectRef.kind in BOUND_KINDS)) errors.push(fieldNotSupported('spec.boundObjectRef.kind', spec.boundObjectRef.kind, Object.keys(BOUND_KINDS)));
      if (spec.boundObjectRef.name === '') errors.push(fieldRequired('spec.boundObjectRef.name'));
    }
  }
  return { spec, errors };
}

function boundObject(context: ResourceRequest, reference: NonNullable<TokenRequestSpec['boundObjectRef']>): ObjectBinding {
  const kind = reference.kind as BoundObjectKind;
  const where = BOUND_KINDS[kind];
  const type = context.services.catalog.find('', 'v1', where.plural) as ResourceType;
  const object = context.services.store.get(type, where.namespaced ? namespaceOf(context) : undefined, reference.name);
  const uid = object.metadata.uid ?? '';
  if (reference.uid !== '' && reference.uid !== uid) {
    throw conflict({ group: '', resource: where.plural }, reference.name, `the UID in the bound object reference (${reference.uid}) does not match the UID in record (${uid}); the object might have been deleted and then recreated`);
  }
  return { kind, name: reference.name, uid };
}

export async function handleTokenRequest(context: ResourceRequest): Promise<void> {
  const { services } = context;
  const namespace = namespaceOf(context) ?? '';
  const name = context.path.name ?? '';
  const body = await readObjectBody(context);
  const { spec, errors } = readSpec(body);
  if (body['kind'] !== undefined && body['kind'] !== 'TokenRequest') errors.push(fieldNotSupported('kind', body['kind'], ['TokenRequest']));
  if (errors.length > 0) throw invalid('authentication.k8s.io', 'TokenRequest', name, toStatusCauses(errors));
  const account = services.store.get(context.type, namespace, name);
  const binding = spec.boundObjectRef === undefined ? undefined : boundObject(context, spec.boundObjectRef);
  const audiences = spec.audiences ?? [...services.serviceAccountTokens.audiences];
  const now = services.now();
  const issued = services.serviceAccountTokens.issue(
    { namespace, name, uid: account.metadata.uid ?? '', ...(binding === undefined ? {} : { boundObject: binding }) },
    { audiences, expirationSeconds: spec.expirationSeconds, now },
  );
  const requestMetadata = recordAt(body, ['metadata']) ?? {};
  sendJson(context.response, 201, {
    kind: 'TokenRequest',
    apiVersion: AUTHENTICATION_API_VERSION,
    metadata: { ...requestMetadata, name, namespace, creationTimestamp: formatTimestamp(now) },
    spec: { audiences, expirationSeconds: spec.expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
    status: { token: issued.token, expirationTimestamp: formatTimestamp(issued.expiresAt) },
  });
}
