// Impersonation (`kubectl --as=<user> --as-group=<group>`), after kube-apiserver's impersonation filter:
// the caller needs the `impersonate` verb on users, groups, serviceaccounts (or uids) for what it asks
// to become; system:masters has it. The request then runs as the impersonated user alone.
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest, forbidden } from '@kedge/kube-core';
import { AUTHENTICATED_GROUP, type UserInfo } from './authentication';
import { refusalText, type Authorizer } from './authorization';
import type { AuthorizationAttributes } from './rbac-authorizer';
import { SERVICE_ACCOUNT_USER_PREFIX, serviceAccountGroups } from './service-account-tokens';

type ResourceAttributes = Extract<AuthorizationAttributes, { kind: 'resource' }>;

const USER_HEADER = 'impersonate-user';
const GROUP_HEADER = 'impersonate-group';
const UID_HEADER = 'impersonate-uid';
const EXTRA_HEADER_PREFIX = 'impersonate-extra-';

function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  if (value === undefined) return [];
  // node joins repeated headers with ", " (group names never contain one)
  return (Array.isArray(value) ? value : value.split(', ')).map((entry) => entry.trim()).filter((entry) => entry !== '');
}

/** The user a request runs as: the authenticated one, or whom it may and asks to impersonate (403 otherwise). */
export function effectiveUser(user: UserInfo, headers: IncomingHttpHeaders, authorizer: Authorizer): UserInfo {
  const [name, ...extraNames] = headerValues(headers, USER_HEADER);
  const groups = headerValues(headers, GROUP_HEADER);
  const [uid] = headerValues(headers, UID_HEADER);
  if (name === undefined) {
    if (groups.length > 0 || uid !== undefined) throw badRequest('impersonating groups or a uid requires impersonating a user (Impersonate-User)');
    return user;
  }
  if (extraNames.length > 0) throw badRequest('only one Impersonate-User header may be given');
  if (Object.keys(headers).some((header) => header.startsWith(EXTRA_HEADER_PREFIX))) {
    throw badRequest('impersonating user extras (Impersonate-Extra-*) is not supported by this server');
  }
  const serviceAccount = name.startsWith(SERVICE_ACCOUNT_USER_PREFIX) ? name.slice(SERVICE_ACCOUNT_USER_PREFIX.length).split(':') : undefined;
  const targets: ResourceAttributes[] = [];
  const target = (resource: string, targetName: string, namespace?: string, apiGroup = ''): ResourceAttributes => ({
    kind: 'resource', verb: 'impersonate', apiGroup, resource, subresource: undefined, namespace, name: targetName,
  });
  if (serviceAccount?.length === 2) targets.push(target('serviceaccounts', serviceAccount[1] ?? '', serviceAccount[0]));
  else targets.push(target('users', name));
  for (const group of groups) targets.push(target('groups', group));
  if (uid !== undefined) targets.push(target('uids', uid, undefined, 'authentication.k8s.io'));
  for (const attributes of targets) {
    if (authorizer.check(user, attributes).allowed) continue;
    throw forbidden({ group: attributes.apiGroup, resource: attributes.resource }, attributes.name ?? '', refusalText(user, attributes, ''));
  }
  const impersonatedGroups = groups.length === 0 && serviceAccount?.length === 2 ? serviceAccountGroups(serviceAccount[0] ?? '') : groups;
  return {
    name,
    groups: impersonatedGroups.includes(AUTHENTICATED_GROUP) ? impersonatedGroups : [...impersonatedGroups, AUTHENTICATED_GROUP],
    ...(uid === undefined ? {} : { uid }),
    via: user.via,
  };
}
