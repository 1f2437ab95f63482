// The cloud as PodAccess sees it, for the unit tests of pod API access and the kill -9 child: it counts
// what it is asked, answers from tables the test fills, or is unreachable. The real cloud side (hub,
// edgecontroller, API server) is tested in tools/e2e/pod-api*.test.ts.
import type { AccessReviewAnswer, ForwardedAnswer, ResourceAttributes, ReviewedUser, TokenAnswer, TokenReviewAnswer } from '@kedge/protocol';
import { CloudRefusedError, CloudUnavailableError, type PodApiCloud } from '../src/index';

/** A JWT-shaped token with this `exp` (seconds); the signature part tells tokens of one exp apart. */
export const jwt = (exp: number, signature = `sig-${exp}`): string => `e30.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.${signature}`;

export const reader: ReviewedUser = { username: 'system:serviceaccount:plant:reader', groups: ['system:serviceaccounts'] };
export const listPods: ResourceAttributes = { verb: 'list', group: '', resource: 'pods', namespace: 'plant' };

export class CountingCloud implements PodApiCloud {
  connected = true;
  reviews = 0;
  accessReviews = 0;
  valid = new Set<string>();
  refusedByCloud = new Set<string>();
  allowed = new Set<string>();
  constructor(private readonly user: ReviewedUser = reader) {}
  async serviceAccountToken(): Promise<TokenAnswer> {
    throw new Error('not used');
  }
  async tokenReview(token: string): Promise<TokenReviewAnswer> {
    if (!this.connected) throw new CloudUnavailableError('the cloud link is down');
    this.reviews += 1;
    if (this.refusedByCloud.has(token)) throw new CloudRefusedError('pod-not-bound: not this node');
    return this.valid.has(token) ? { authenticated: true, user: this.user } : { authenticated: false, error: 'invalid bearer token' };
  }
  async accessReview(_token: string, attributes: ResourceAttributes): Promise<AccessReviewAnswer> {
    if (!this.connected) throw new CloudUnavailableError('the cloud link is down');
    this.accessReviews += 1;
    return { allowed: this.allowed.has(attributes.resource) };
  }
  async forward(): Promise<ForwardedAnswer> {
    throw new Error('not used');
  }
}
