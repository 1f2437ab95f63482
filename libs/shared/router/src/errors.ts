// Typed errors of the in-process router: each names what was wrong and what to do about it, and
// carries a machine code so callers (hubs, metrics) can branch without parsing messages.
import type { Message } from '@kedge/protocol';

export type RouterErrorCode =
  | 'DUPLICATE_ROUTE'
  | 'NO_ROUTE'
  | 'DUPLICATE_REQUEST'
  | 'REQUEST_TIMEOUT'
  | 'REMOTE_ERROR'
  | 'ROUTER_CLOSED'
  | 'INVALID_ARGUMENT';

export class RouterError extends Error {
  override readonly name: string = 'RouterError';
  readonly code: RouterErrorCode;
  /** the field at fault, e.g. `route.group` or `timeoutMs` */
  readonly field: string | undefined;

  constructor(code: RouterErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}

/** A second handler for a group that already has one: exactly one module owns a group. */
export class DuplicateRouteError extends RouterError {
  override readonly name = 'DuplicateRouteError';
  constructor(readonly group: string) {
    super('DUPLICATE_ROUTE', `group "${group}" already has a handler; unregister it first or pick another group`, 'group');
  }
}

/** A message for a group nobody handles. */
export class NoRouteError extends RouterError {
  override readonly name = 'NoRouteError';
  readonly group: string;
  readonly resource: string;
  constructor(msg: Message) {
    super(
      'NO_ROUTE',
      `no handler for group "${msg.route.group}" (message ${msg.header.msg_id}, operation "${msg.route.operation}", ` +
        `resource "${msg.route.resource}"); register a module for that group before messages arrive`,
      'route.group',
    );
    this.group = msg.route.group;
    this.resource = msg.route.resource;
  }
}

/** A request whose msg_id is already waiting for a reply: the reply could not tell them apart. */
export class DuplicateRequestError extends RouterError {
  override readonly name = 'DuplicateRequestError';
  constructor(readonly msgId: string) {
    super('DUPLICATE_REQUEST', `a request with msg_id "${msgId}" is already waiting for its reply; build each request with newMessage`, 'header.msg_id');
  }
}

/** No reply arrived in time. */
export class RequestTimeoutError extends RouterError {
  override readonly name = 'RequestTimeoutError';
  readonly msgId: string;
  readonly group: string;
  readonly resource: string;
  constructor(
    msg: Message,
    readonly timeoutMs: number,
  ) {
    super(
      'REQUEST_TIMEOUT',
      `no reply within ${timeoutMs} ms to request ${msg.header.msg_id} (group "${msg.route.group}", ` +
        `operation "${msg.route.operation}", resource "${msg.route.resource}"); check that the peer is connected and handles the group`,
      'timeoutMs',
    );
    this.msgId = msg.header.msg_id;
    this.group = msg.route.group;
    this.resource = msg.route.resource;
  }
}

/** The other side answered the request with `operation: 'error'`; `content` is its reason. */
export class RemoteError extends RouterError {
  override readonly name = 'RemoteError';
  readonly content: unknown;
  constructor(
    readonly request: Message,
    readonly reply: Message,
  ) {
    super(
      'REMOTE_ERROR',
      `request ${request.header.msg_id} (group "${request.route.group}", resource "${request.route.resource}") ` +
        `failed on the other side: ${describeReason(reply.content)}`,
      'content',
    );
    this.content = reply.content;
  }
}

/** The router was closed: pending requests are rejected and nothing new is accepted. */
export class RouterClosedError extends RouterError {
  override readonly name = 'RouterClosedError';
  constructor(action: string) {
    super('ROUTER_CLOSED', `cannot ${action}: the message router is closed (the process is shutting down)`);
  }
}

function describeReason(content: unknown): string {
  let text: string;
  if (typeof content === 'string') text = content;
  else {
    try {
      text = JSON.stringify(content) ?? String(content);
    } catch {
      text = String(content);
    }
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
