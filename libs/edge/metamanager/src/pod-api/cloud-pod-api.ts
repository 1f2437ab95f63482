// The edge's requests to the cloud on behalf of its pods: ServiceAccount tokens (edged), and token
// reviews, access reviews and forwarded writes (MetaServer). Each is one request/answer over the hub.
// Callers must tell "the cloud said no" (CloudRefusedError: an answer, cacheable) from "the cloud could
// not be asked" (CloudUnavailableError: offline, timed out; fall back to what was remembered).
import { Group, Operation, POD_API_TYPE, PodApiCall, SERVICE_ACCOUNT_TOKEN_TYPE, newMessage, type AccessReviewAnswer, type ForwardedAnswer, type ForwardedRequestContent, type ResourceAttributes, type TokenAnswer, type TokenRequestContent, type TokenReviewAnswer } from '@kedge/protocol';
import { RemoteError, type MessageRouter } from '@kedge/router';
import type { CloudLink } from '../outbox-sender';

/** The cloud could not be asked: the link is down or the answer did not come in time. */
export class CloudUnavailableError extends Error {
  override readonly name = 'CloudUnavailableError';
}

/** The cloud refused the request (its edgecontroller's reason, e.g. `pod-not-bound: ...`). */
export class CloudRefusedError extends Error {
  override readonly name = 'CloudRefusedError';
}

/** What MetaServer and edged ask the cloud; tests may pass their own. */
export interface PodApiCloud {
  readonly connected: boolean;
  serviceAccountToken(namespace: string, podName: string, request: TokenRequestContent): Promise<TokenAnswer>;
  tokenReview(token: string): Promise<TokenReviewAnswer>;
  accessReview(token: string, attributes: ResourceAttributes): Promise<AccessReviewAnswer>;
  forward(request: ForwardedRequestContent): Promise<ForwardedAnswer>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class HubPodApiCloud implements PodApiCloud {
  constructor(
    private readonly router: MessageRouter,
    private readonly hub: CloudLink,
    private readonly timeoutMs = 15_000,
  ) {}

  get connected(): boolean {
    return this.hub.connected;
  }

  private async ask(resource: string, content: unknown): Promise<Record<string, unknown>> {
    if (!this.hub.connected) throw new CloudUnavailableError('the cloud link is down (edgehub is not connected)');
    const message = newMessage({ source: 'metaserver', group: Group.Resource, operation: Operation.Query, resource, content });
    let reply;
    try {
      reply = await this.router.request(message, { timeoutMs: this.timeoutMs, send: (out) => this.hub.send(out) });
    } catch (error) {
      if (error instanceof RemoteError) throw new CloudRefusedError(typeof error.content === 'string' ? error.content.slice(0, 500) : 'the cloud refused the request');
      throw new CloudUnavailableError(`the cloud did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!isObject(reply.content)) throw new CloudRefusedError('the cloud answered with no object');
    return reply.content;
  }

  async serviceAccountToken(namespace: string, podName: string, request: TokenRequestContent): Promise<TokenAnswer> {
    const answer = await this.ask(`${namespace}/${SERVICE_ACCOUNT_TOKEN_TYPE}/${podName}`, request);
    if (typeof answer['token'] !== 'string' || answer['token'] === '' || typeof answer['expirationTimestamp'] !== 'string') throw new CloudRefusedError('the cloud answered a token request without token and expirationTimestamp');
    return { token: answer['token'], expirationTimestamp: answer['expirationTimestamp'] };
  }

  async tokenReview(token: string): Promise<TokenReviewAnswer> {
    const answer = await this.ask(`null/${POD_API_TYPE}/${PodApiCall.TokenReview}`, { token });
    return answer as unknown as TokenReviewAnswer;
  }

  async accessReview(token: string, attributes: ResourceAttributes): Promise<AccessReviewAnswer> {
    const answer = await this.ask(`null/${POD_API_TYPE}/${PodApiCall.AccessReview}`, { token, attributes });
    return { allowed: answer['allowed'] === true, ...(typeof answer['reason'] === 'string' ? { reason: answer['reason'] } : {}) };
  }

  async forward(request: ForwardedRequestContent): Promise<ForwardedAnswer> {
    const answer = await this.ask(`null/${POD_API_TYPE}/${PodApiCall.Request}`, request);
    if (typeof answer['code'] !== 'number' || typeof answer['body'] !== 'string') throw new CloudRefusedError('the cloud answered a forwarded request without code and body');
    return { code: answer['code'], body: answer['body'], contentType: typeof answer['contentType'] === 'string' ? answer['contentType'] : 'application/json' };
  }
}
