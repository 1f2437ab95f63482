// Everything a resource handler needs about one request, resolved once by the dispatcher.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import type { Authorizer, RequestAttributes, ServiceAccountTokens, UserInfo } from '../auth';
import type { ResponseForm } from '../http';
import type { ResourceCatalog, ResourceType } from '../resources';
import type { RequestVerb, ResourcePath } from '../routing';
import type { ResourceStore } from '../registry';
import type { KubeletClient } from '../kubelet-client';

/** Long-lived parts shared by all requests. */
export interface HandlerServices {
  store: ResourceStore;
  catalog: ResourceCatalog;
  authorizer: Authorizer;
  /** signs TokenRequests (serviceaccounts/token) */
  serviceAccountTokens: ServiceAccountTokens;
  /** dials node kubelets for pods/log|exec|attach|portforward and nodes/proxy; set by configureKubeletClient */
  kubelet: { current: KubeletClient | undefined };
  /** TokenReview: the user of a bearer token, undefined when it is not accepted */
  reviewToken: (token: string) => UserInfo | undefined;
  logger: Logger;
  now: () => Date;
  maxRequestBodyBytes: number;
  bookmarkIntervalMs: number;
  /** watches end after this unless the client asks for less (apiserver's min-request-timeout) */
  defaultWatchTimeoutSeconds: number;
  /** open watch streams, so close() can end them */
  openWatches: Set<{ close(): void }>;
}

export interface ResourceRequest {
  request: IncomingMessage;
  response: ServerResponse;
  query: URLSearchParams;
  path: ResourcePath;
  verb: RequestVerb;
  type: ResourceType;
  user: UserInfo;
  attributes: RequestAttributes;
  form: ResponseForm;
  services: HandlerServices;
}

/** The namespace a request acts in: the URL's for namespaced types, none for cluster-scoped ones. */
export function namespaceOf(request: ResourceRequest): string | undefined {
  return request.type.namespaced ? request.path.namespace : undefined;
}

/** The admission a write of this request goes through, for the store to run on the final object. */
export function admission(request: ResourceRequest): (object: KubeObject, previous: KubeObject | undefined) => void {
  return (object, previous) => request.services.authorizer.admitWrite(request.user, request.attributes, object, previous);
}
