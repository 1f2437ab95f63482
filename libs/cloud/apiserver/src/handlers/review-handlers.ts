// The review kinds: a client creates one and reads the answer in its status. SelfSubjectAccessReview
// asks about the caller (`kubectl auth can-i`), SelfSubjectRulesReview lists the caller's rules
// (`kubectl auth can-i --list`), SubjectAccessReview asks about any user (for those allowed to create
// it), SelfSubjectReview who the caller is (`kubectl auth whoami`). Nothing is stored.
import { StatusError, badRequest, invalid, isRecord, type KubeObject } from '@kedge/kube-core';
import { sendJson } from '../http';
import { apiVersionOf } from '../resources';
import { fieldInvalid, fieldRequired, toStatusCauses, type FieldError } from '../validation';
import type { AuthorizationAttributes, UserInfo } from '../auth';
import type { ResourceRequest } from './request-context';
import { readObjectBody } from './request-objects';

const text = (record: Record<string, unknown>, field: string): string => (typeof record[field] === 'string' ? (record[field] as string) : '');

function requestedAttributes(spec: Record<string, unknown>, errors: FieldError[]): AuthorizationAttributes | undefined {
  const resource = spec['resourceAttributes'];
  const nonResource = spec['nonResourceAttributes'];
  if (isRecord(resource) === isRecord(nonResource)) {
    errors.push(fieldInvalid('spec.resourceAttributes', resource ?? null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
    return undefined;
  }
  if (isRecord(nonResource)) return { kind: 'nonResource', verb: text(nonResource, 'verb'), path: text(nonResource, 'path') };
  const attributes = resource as Record<string, unknown>;
  const optional = (field: string): string | undefined => (text(attributes, field) === '' ? undefined : text(attributes, field));
  return {
    kind: 'resource',
    verb: text(attributes, 'verb'),
    apiGroup: text(attributes, 'group'),
    resource: text(attributes, 'resource'),
    subresource: optional('subresource'),
    namespace: optional('namespace'),
    name: optional('name'),
  };
}

function reviewedUser(spec: Record<string, unknown>, errors: FieldError[]): UserInfo {
  const groups = Array.isArray(spec['groups']) ? spec['groups'].filter((group): group is string => typeof group === 'string') : [];
  const name = text(spec, 'user');
  if (name === '' && groups.length === 0) errors.push(fieldInvalid('spec.user', name, 'at least one of user or group must be specified'));
  return { name, groups, via: 'token' };
}

function reviewOf(context: ResourceRequest, body: KubeObject, status: Record<string, unknown>): Record<string, unknown> {
  return { kind: context.type.kind, apiVersion: apiVersionOf(context.type), metadata: { ...body.metadata, creationTimestamp: null }, spec: body['spec'], status };
}

function rulesReviewStatus(context: ResourceRequest, body: KubeObject): Record<string, unknown> {
  const namespace = isRecord(body['spec']) ? text(body['spec'], 'namespace') : '';
  const { rules, incomplete } = context.services.authorizer.rulesFor(context.user, namespace === '' ? undefined : namespace);
  const resourceRules = rules
    .filter((rule) => rule.nonResourceURLs.length === 0)
    .map((rule) => ({ verbs: rule.verbs, apiGroups: rule.apiGroups, resources: rule.resources, ...(rule.resourceNames.length > 0 ? { resourceNames: rule.resourceNames } : {}) }));
  const nonResourceRules = rules.filter((rule) => rule.nonResourceURLs.length > 0).map((rule) => ({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs }));
  return { resourceRules, nonResourceRules, incomplete };
}

/** Who a token belongs to, as the authenticator of this server sees it; a refused token is `authenticated: false`. */
function tokenReviewStatus(context: ResourceRequest, body: KubeObject): Record<string, unknown> {
  const spec = body['spec'];
  const token = isRecord(spec) ? spec['token'] : undefined;
  if (typeof token !== 'string' || token === '') {
    throw invalid(context.type.group, context.type.kind, '', toStatusCauses([fieldRequired('spec.token')]));
  }
  let user: UserInfo | undefined;
  try {
    user = context.services.reviewToken(token);
  } catch (error) {
    if (error instanceof StatusError && error.code === 401) return { authenticated: false, error: error.message };
    throw error;
  }
  if (user === undefined) return { authenticated: false, error: 'the token is not known to this server' };
  return { authenticated: true, user: { username: user.name, groups: user.groups, ...(user.uid === undefined ? {} : { uid: user.uid }) } };
}

export async function handleReview(context: ResourceRequest): Promise<void> {
  const body = await readObjectBody(context);
  if (body['kind'] !== undefined && body['kind'] !== context.type.kind) {
    throw badRequest(`the body is a ${String(body['kind'])}, not a ${context.type.kind}`);
  }
  const { user } = context;
  if (context.type.kind === 'SelfSubjectReview') {
    const userInfo = { username: user.name, groups: user.groups, ...(user.uid === undefined ? {} : { uid: user.uid }), ...(user.extra === undefined ? {} : { extra: user.extra }) };
    sendJson(context.response, 201, reviewOf(context, body, { userInfo }));
    return;
  }
  if (context.type.kind === 'TokenReview') {
    sendJson(context.response, 201, reviewOf(context, body, tokenReviewStatus(context, body)));
    return;
  }
  if (context.type.kind === 'SelfSubjectRulesReview') {
    sendJson(context.response, 201, reviewOf(context, body, rulesReviewStatus(context, body)));
    return;
  }
  const errors: FieldError[] = [];
  const spec = body['spec'];
  if (!isRecord(spec)) throw invalid(context.type.group, context.type.kind, '', toStatusCauses([fieldRequired('spec')]));
  const subject = context.type.kind === 'SubjectAccessReview' ? reviewedUser(spec, errors) : user;
  const attributes = requestedAttributes(spec, errors);
  if (attributes === undefined || errors.length > 0) throw invalid(context.type.group, context.type.kind, '', toStatusCauses(errors));
  const decision = context.services.authorizer.check(subject, attributes);
  sendJson(context.response, 201, reviewOf(context, body, decision.allowed ? { allowed: true } : { allowed: false, reason: decision.reason }));
}
