// @kedge/router: the in-process message router keyed by group (KubeEdge's beehive bus, simplified).
export {
  MessageRouter,
  type HandlerErrorListener,
  type MessageHandler,
  type MessageRouterOptions,
  type RequestOptions,
  type SendFunction,
} from './message-router';
export {
  DuplicateRequestError,
  DuplicateRouteError,
  NoRouteError,
  RemoteError,
  RequestTimeoutError,
  RouterClosedError,
  RouterError,
  type RouterErrorCode,
} from './errors';
