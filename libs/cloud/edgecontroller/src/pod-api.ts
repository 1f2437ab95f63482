// The cloud side of edge pods' access to the Kubernetes API. A node may ask for:
// - a ServiceAccount token for a pod bound to it, for the pod's own ServiceAccount, bound to the pod
//   (the Node authorizer's rule for kubelets); cloudcore makes the TokenRequest;
// - who a token is, whether it may do something, and a write done with it. These three run against the
//   API server with the token itself as the only credential (SelfSubjectReview, SelfSubjectAccessReview,
//   the write), so the cluster's authentication and RBAC decide, and cloudcore lends none of its rights.
//   A token is only used when it is bound to a pod of the asking node: an edge cannot use the cloud as a
//   relay for tokens of other nodes' pods.
import { parseAccessReviewContent, parseForwardedRequestContent, parseTokenRequestContent, parseTokenReviewContent, ProtocolError, PodApiCall, type AccessReviewAnswer, type ForwardedAnswer, type ReviewedUser, type TokenAnswer, type TokenReviewAnswer } from '@kedge/protocol';
import type { ObjectCache } from '@kubernetes/client-node';
import { isRecord, type KubeObject } from '@kedge/kube-core';
import { UpstreamRefusedError } from './errors';
import type { ApiAnswer, PodCredentialClient } from './pod-credentials';

const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export interface PodApiDeps {
  client: PodCredentialClient;
  pods: ObjectCache<KubeObject>;
  /** a pod the cache has not seen yet, read with cloudcore's own rights (it reads pods anyway) */
  readPod: (namespace: string, name: string) => Promise<KubeObject | undefined>;
  /** TokenRequest with cloudcore's rights: POST .../serviceaccounts/<name>/token */
  requestToken: (namespace: string, serviceAccount: string, body: KubeObject) => Promise<TokenAnswer>;
}

function refuse(reason: UpstreamRefusedError['reason'], message: string): never {
  throw new UpstreamRefusedError(reason, message);
}

function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ProtocolError) refuse('invalid', error.message);
    throw error;
  }
}

function statusMessage(answer: ApiAnswer): string {
  try {
    const body = JSON.parse(answer.body) as unknown;
    if (isRecord(body) && typeof body['message'] === 'string') return body['message'];
  } catch {
    // not a Status: the code says enough
  }
  return `HTTP ${answer.code}`;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export class PodApi {
  constructor(private readonly deps: PodApiDeps) {}

  private async pod(namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.deps.pods.get(name, namespace) ?? (await this.deps.readPod(namespace, name));
  }

  /** A TokenRequest for a pod bound to `node`, for that pod's ServiceAccount, bound to the pod. */
  async token(node: string, namespace: string, podName: string, content: unknown): Promise<TokenAnswer> {
    const request = parsed(() => parseTokenRequestContent(content));
    const pod = await this.pod(namespace, podName);
    const spec = isRecord(pod?.['spec']) ? pod['spec'] : {};
    if (pod === undefined || spec['nodeName'] !== node) refuse('pod-not-bound', `node "${node}" may request tokens only for its own pods; pod ${namespace}/${podName} is not bound to it`);
    if (pod.metadata?.uid !== request.podUID) refuse('pod-not-bound', `pod ${namespace}/${podName} has uid ${String(pod.metadata?.uid)}, not ${request.podUID}: it was deleted and recreated`);
    const account = typeof spec['serviceAccountName'] === 'string' && spec['serviceAccountName'] !== '' ? spec['serviceAccountName'] : 'default';
    if (account !== request.serviceAccountName) {
      refuse('foreign-service-account', `pod ${namespace}/${podName} runs as ServiceAccount "${account}"; node "${node}" may not request a token for "${request.serviceAccountName}"`);
    }
    return this.deps.requestToken(namespace, account, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: {
        ...(request.audiences === undefined ? {} : { audiences: request.audiences }),
        expirationSeconds: request.expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid: request.podUID },
      },
    });
  }

  /** Who `token` is, asked as the token itself; refused unless it is bound to a pod of `node`. */
  private async whoIs(node: string, token: string): Promise<TokenReviewAnswer> {
    const answer = await this.deps.client.call({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      token,
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    if (answer.code === 401) return { authenticated: false, error: statusMessage(answer) };
    if (answer.code !== 201 && answer.code !== 200) throw new Error(`SelfSubjectReview failed: ${statusMessage(answer)}`);
    const body = JSON.parse(answer.body) as unknown;
    const info = isRecord(body) && isRecord(body['status']) && isRecord(body['status']['userInfo']) ? body['status']['userInfo'] : {};
    const username = typeof info['username'] === 'string' ? info['username'] : '';
    const extra: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(isRecord(info['extra']) ? info['extra'] : {})) extra[key] = stringList(value);
    const user: ReviewedUser = { username, groups: stringList(info['groups']), ...(typeof info['uid'] === 'string' ? { uid: info['uid'] } : {}), extra };
    const podName = extra[POD_NAME_EXTRA]?.[0];
    const podUid = extra[POD_UID_EXTRA]?.[0];
    if (!username.startsWith(SERVICE_ACCOUNT_PREFIX) || podName === undefined || podUid === undefined) {
      refuse('not-pod-token', `the token is not a ServiceAccount token bound to a pod (user "${username.slice(0, 120)}"); MetaServer accepts only tokens of pods on node "${node}"`);
    }
    const namespace = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':')[0] ?? '';
    const pod = await this.pod(namespace, podName);
    const nodeName = isRecord(pod?.['spec']) ? pod['spec']['nodeName'] : undefined;
    if (pod === undefined || nodeName !== node || pod.metadata?.uid !== podUid) {
      refuse('pod-not-bound', `the token belongs to pod ${namespace}/${podName}, which is not bound to node "${node}"`);
    }
    return { authenticated: true, user };
  }

  async handle(node: string, call: string, content: unknown): Promise<TokenReviewAnswer | AccessReviewAnswer | ForwardedAnswer> {
    switch (call) {
      case PodApiCall.TokenReview:
        return this.whoIs(node, parsed(() => parseTokenReviewContent(content)).token);
      case PodApiCall.AccessReview: {
        const review = parsed(() => parseAccessReviewContent(content));
        const who = await this.whoIs(node, review.token);
        if (!who.authenticated) return { allowed: false, reason: who.error ?? 'the token is not valid' };
        const answer = await this.deps.client.call({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          token: review.token,
          body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: review.attributes } }),
        });
        if (answer.code !== 201 && answer.code !== 200) throw new Error(`SelfSubjectAccessReview failed: ${statusMessage(answer)}`);
        const body = JSON.parse(answer.body) as unknown;
        const status = isRecord(body) && isRecord(body['status']) ? body['status'] : {};
        return { allowed: status['allowed'] === true, ...(typeof status['reason'] === 'string' ? { reason: status['reason'] } : {}) };
      }
      case PodApiCall.Request: {
        const request = parsed(() => parseForwardedRequestContent(content));
        const who = await this.whoIs(node, request.token);
        if (!who.authenticated) {
          return { code: 401, contentType: 'application/json', body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: who.error ?? 'Unauthorized', reason: 'Unauthorized', code: 401 }) };
        }
        // the pod's token and nothing else: the API server's answer goes back verbatim
        return this.deps.client.call({ method: request.method, path: request.path, token: request.token, ...(request.body === undefined ? {} : { body: request.body }), ...(request.contentType === undefined ? {} : { contentType: request.contentType }) });
      }
      default:
        return refuse('unsupported', `the edge controller does not handle podapi call "${call.slice(0, 40)}"`);
    }
  }
}
