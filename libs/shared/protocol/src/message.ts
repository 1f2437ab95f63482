// The beehive message model shared by cloudcore and edgecore, shaped like KubeEdge's JSON so that
// the wire stays recognisable to anyone who has read a KubeEdge capture.
import { randomUUID } from 'node:crypto';

export interface MessageHeader {
  /** uuid v4 of this message */
  msg_id: string;
  /** on responses and errors: the msg_id of the request */
  parent_msg_id?: string;
  /** unix milliseconds when the message was built */
  timestamp: number;
  /** Kubernetes resourceVersion of the object in content, when there is one */
  resourceversion?: string;
  /** true when the sender waits for a response with parent_msg_id = msg_id */
  sync?: boolean;
}

export interface MessageRoute {
  /** module that built the message, e.g. "edgecontroller", "edgehub" */
  source: string;
  /** group of the module that should receive it, e.g. "resource", "twin", "hub" */
  group: string;
  operation: string;
  /** `ns/type/name` on the edge, `node/<node>/ns/type/name` in the cloud */
  resource: string;
}

export interface Message<C = unknown> {
  header: MessageHeader;
  route: MessageRoute;
  content: C;
}

export const Operation = {
  Insert: 'insert',
  Update: 'update',
  Patch: 'patch',
  Delete: 'delete',
  Query: 'query',
  Response: 'response',
  Error: 'error',
  Upload: 'upload',
  Keepalive: 'keepalive',
  Connect: 'connect',
  Disconnect: 'disconnect',
} as const;
export type Operation = (typeof Operation)[keyof typeof Operation];

export const Group = {
  Resource: 'resource',
  Twin: 'twin',
  User: 'user',
  Meta: 'meta',
  Hub: 'hub',
  Func: 'func',
} as const;
export type Group = (typeof Group)[keyof typeof Group];

export interface NewMessageOptions<C> {
  source: string;
  group: string;
  operation: string;
  resource: string;
  content: C;
  parentId?: string;
  resourceVersion?: string;
  sync?: boolean;
}

export function newMessage<C>(options: NewMessageOptions<C>): Message<C> {
  const header: MessageHeader = { msg_id: randomUUID(), timestamp: Date.now() };
  if (options.parentId !== undefined) header.parent_msg_id = options.parentId;
  if (options.resourceVersion !== undefined) header.resourceversion = options.resourceVersion;
  if (options.sync !== undefined) header.sync = options.sync;
  return {
    header,
    route: {
      source: options.source,
      group: options.group,
      operation: options.operation,
      resource: options.resource,
    },
    content: options.content,
  };
}

/** A response to `request`: new id, parent id = request id, same source, group and resource. */
export function newResponse<C>(request: Message, content: C, source = request.route.source): Message<C> {
  return newMessage({
    source,
    group: request.route.group,
    operation: Operation.Response,
    resource: request.route.resource,
    content,
    parentId: request.header.msg_id,
  });
}

/** An error answer to `request`; content is a short human-readable reason. */
export function newErrorResponse(request: Message, reason: string, source = request.route.source): Message<string> {
  return newMessage({
    source,
    group: request.route.group,
    operation: Operation.Error,
    resource: request.route.resource,
    content: reason,
    parentId: request.header.msg_id,
  });
}
