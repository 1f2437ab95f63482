// The in-process message bus (KubeEdge's beehive, simplified): modules register for a group and the
// hubs dispatch whatever arrives, so a new module plugs in without either hub knowing about it.
import { Operation } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import {
  DuplicateRequestError,
  DuplicateRouteError,
  NoRouteError,
  RemoteError,
  RequestTimeoutError,
  RouterClosedError,
  RouterError,
} from './errors';

export type MessageHandler = (msg: Message) => void | Promise<void>;
export type HandlerErrorListener = (error: unknown, msg: Message) => void;
export type SendFunction = (msg: Message) => void | Promise<void>;

export interface MessageRouterOptions {
  /** told about every handler that throws or rejects; defaults to a line on stderr */
  onHandlerError?: HandlerErrorListener;
}

export interface RequestOptions {
  /** how long to wait for the reply, in ms (1 to 2^31-1) */
  timeoutMs: number;
  /** how the request leaves, e.g. a hub's connection.send; defaults to this router's dispatch */
  send?: SendFunction;
}

// setTimeout fires at once (with a warning) for longer delays, which would look like a timeout
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

interface Registration {
  handler: MessageHandler;
}

interface PendingRequest {
  request: Message;
  resolve: (reply: Message) => void;
  reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
}

function reportToStderr(error: unknown, msg: Message): void {
  console.error(`kedge router: handler for group "${msg.route.group}" failed on message ${msg.header.msg_id}:`, error);
}

export class MessageRouter {
  readonly #handlers = new Map<string, Registration>();
  readonly #pending = new Map<string, PendingRequest>();
  readonly #onHandlerError: HandlerErrorListener;
  #closed = false;

  constructor(options: MessageRouterOptions = {}) {
    this.#onHandlerError = options.onHandlerError ?? reportToStderr;
  }

  /**
   * Makes `handler` the receiver of every message whose route.group is `group`.
   * @returns a function that unregisters this handler (later calls do nothing)
   * @throws DuplicateRouteError when the group already has a handler
   */
  register(group: string, handler: MessageHandler): () => void {
    if (this.#closed) throw new RouterClosedError(`register a handler for group "${group}"`);
    if (typeof group !== 'string' || group === '') {
      throw new RouterError('INVALID_ARGUMENT', 'group must be a non-empty string, e.g. "resource" or "twin"', 'group');
    }
    if (typeof handler !== 'function') {
      throw new RouterError('INVALID_ARGUMENT', `the handler for group "${group}" must be a function`, 'handler');
    }
    if (this.#handlers.has(group)) throw new DuplicateRouteError(group);
    // compared by identity, so a stale unregister never removes a later registration of the group
    const registration: Registration = { handler };
    this.#handlers.set(group, registration);
    return () => {
      if (this.#handlers.get(group) === registration) this.#handlers.delete(group);
    };
  }

  /** The groups that currently have a handler, sorted. */
  groups(): string[] {
    return [...this.#handlers.keys()].sort();
  }

  /** How many requests are waiting for a reply. */
  get pendingRequestCount(): number {
    return this.#pending.size;
  }

  /**
   * Delivers a message. A response or error whose parent_msg_id names a pending request settles that
   * request; anything else goes to the handler of its group. Resolves once the handler has finished;
   * a handler's failure goes to onHandlerError and never rejects this promise. Callers reading a link
   * should not await this per message if handlers wait for replies arriving on that same link.
   * @throws (rejects with) NoRouteError when the group has no handler, RouterClosedError after close()
   */
  async dispatch(msg: Message): Promise<void> {
    if (this.#closed) throw new RouterClosedError(`dispatch message ${msg.header.msg_id}`);
    if (this.#settleReply(msg)) return;
    const registration = this.#handlers.get(msg.route.group);
    if (registration === undefined) throw new NoRouteError(msg);
    try {
      await registration.handler(msg);
    } catch (error) {
      this.#reportHandlerError(error, msg);
    }
  }

  /**
   * Sends `msg` with header.sync = true and waits for the reply: a message dispatched to this router
   * with parent_msg_id = msg.header.msg_id. `msg` itself is not modified.
   * @returns the reply, when its operation is 'response'
   * @throws (rejects with) RemoteError for an 'error' reply, RequestTimeoutError, the error of
   *   `send`, DuplicateRequestError, RouterClosedError, or RouterError INVALID_ARGUMENT
   */
  request(msg: Message, options: RequestOptions): Promise<Message> {
    const { timeoutMs } = options;
    if (this.#closed) return Promise.reject(new RouterClosedError(`send request ${msg.header.msg_id}`));
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
      return Promise.reject(
        new RouterError('INVALID_ARGUMENT', `timeoutMs must be a number of ms between 1 and ${MAX_TIMEOUT_MS}, got ${String(timeoutMs)}`, 'timeoutMs'),
      );
    }
    const id = msg.header.msg_id;
    if (this.#pending.has(id)) return Promise.reject(new DuplicateRequestError(id));

    const outgoing: Message = { ...msg, header: { ...msg.header, sync: true } };
    const send: SendFunction = options.send ?? ((m) => this.dispatch(m));
    return new Promise<Message>((resolve, reject) => {
      const pending: PendingRequest = {
        request: outgoing,
        resolve,
        reject,
        timer: setTimeout(() => this.#fail(id, pending, new RequestTimeoutError(outgoing, timeoutMs)), timeoutMs),
      };
      // registered before sending: a local handler may reply before send() even returns
      this.#pending.set(id, pending);
      try {
        Promise.resolve(send(outgoing)).catch((error: unknown) => this.#fail(id, pending, error));
      } catch (error) {
        this.#fail(id, pending, error);
      }
    });
  }

  /** Rejects every pending request with RouterClosedError and refuses further use. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, pending] of [...this.#pending]) {
      this.#fail(id, pending, new RouterClosedError(`wait for the reply to request ${id}`));
    }
    this.#handlers.clear();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #settleReply(msg: Message): boolean {
    const parentId = msg.header.parent_msg_id;
    if (parentId === undefined) return false;
    const operation = msg.route.operation;
    if (operation !== Operation.Response && operation !== Operation.Error) return false;
    const pending = this.#pending.get(parentId);
    if (pending === undefined) return false;
    this.#take(parentId, pending);
    if (operation === Operation.Error) pending.reject(new RemoteError(pending.request, msg));
    else pending.resolve(msg);
    return true;
  }

  /** Rejects `pending` unless it was settled already (reply, timeout, send failure, close). */
  #fail(id: string, pending: PendingRequest, error: unknown): void {
    if (this.#take(id, pending)) pending.reject(error);
  }

  /** Removes `pending` and its timer; false when something else settled it first. */
  #take(id: string, pending: PendingRequest): boolean {
    if (this.#pending.get(id) !== pending) return false;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return true;
  }

  #reportHandlerError(error: unknown, msg: Message): void {
    try {
      this.#onHandlerError(error, msg);
    } catch {
      // a failing error reporter must not take the process down either
    }
  }
}
