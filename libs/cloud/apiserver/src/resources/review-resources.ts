// The review kinds clients create to ask the server a question and read the answer from the response:
// authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i`), SelfSubjectRulesReview
// (`kubectl auth can-i --list`) and SubjectAccessReview, authentication.k8s.io/v1 SelfSubjectReview
// (`kubectl auth whoami`) and TokenReview (a kubelet, or cloudcore's kubelet API, checking a bearer token).
// Nothing is stored.
import { defaultTable } from '@kedge/kube-core';
import { defineBuiltin } from './builtin-type';
import type { ResourceType } from './resource-type';

export const AUTHORIZATION_GROUP = 'authorization.k8s.io';
export const AUTHENTICATION_GROUP = 'authentication.k8s.io';

function review(group: string, kind: string, plural: string): ResourceType {
  return {
    ...defineBuiltin({ group, version: 'v1', kind, plural, namespaced: false, verbs: ['create'], table: defaultTable }),
    ephemeral: true,
  };
}

export function reviewResources(): ResourceType[] {
  return [
    review(AUTHORIZATION_GROUP, 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
    review(AUTHORIZATION_GROUP, 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
    review(AUTHORIZATION_GROUP, 'SubjectAccessReview', 'subjectaccessreviews'),
    review(AUTHENTICATION_GROUP, 'SelfSubjectReview', 'selfsubjectreviews'),
    review(AUTHENTICATION_GROUP, 'TokenReview', 'tokenreviews'),
  ];
}
