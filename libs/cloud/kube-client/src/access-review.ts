// TokenReview and SubjectAccessReview through the cluster's API: how a cloudcore endpoint that is not
// the API server (the kubelet API, device methods) learns who a bearer token belongs to and what they may do.
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type V1ResourceAttributes } from '@kubernetes/client-node';

export interface ReviewedUser {
  name: string;
  groups: string[];
  uid?: string;
}

export interface AccessDecision {
  allowed: boolean;
  reason?: string;
}

export interface ClusterAccessReviews {
  /** the token's user, or undefined when the API server does not authenticate it */
  reviewToken(token: string): Promise<ReviewedUser | undefined>;
  /** whether `user` may do what `resource` describes */
  reviewAccess(user: ReviewedUser, resource: V1ResourceAttributes): Promise<AccessDecision>;
}

export function clusterAccessReviews(kubeConfig: KubeConfig): ClusterAccessReviews {
  const authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  return {
    async reviewToken(token) {
      const review = await authentication.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
      const status = review.status;
      if (status?.authenticated !== true || !status.user?.username) return undefined;
      return { name: status.user.username, groups: status.user.groups ?? [], ...(status.user.uid ? { uid: status.user.uid } : {}) };
    },
    async reviewAccess(user, resourceAttributes) {
      const review = await authorization.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: user.name, groups: user.groups, ...(user.uid ? { uid: user.uid } : {}), resourceAttributes },
        },
      });
      return { allowed: review.status?.allowed === true, ...(review.status?.reason ? { reason: review.status.reason } : {}) };
    },
  };
}
