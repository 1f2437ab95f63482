// @kedge/transport: authenticated, framed, backpressured links between cloudcore and edgecore.
export {
  DEFAULT_LINK_LIMITS,
  type Connection,
  type ConnectionClosed,
  type ConnectionEvents,
  type HubListener,
  type LinkLimits,
  type PeerIdentity,
  type TlsMaterial,
  type TransportKind,
} from './connection';
export {
  ConnectionClosedError,
  DialError,
  IdentityError,
  QuicUnavailableError,
  SendQueueFullError,
  SendQueueTimeoutError,
  TransportConfigError,
} from './errors';
export {
  ConnectionGate,
  DEFAULT_CONNECTION_LIMITS,
  TokenBucket,
  isGateRefusal,
  resolveConnectionLimits,
  type ConnectionLimits,
  type GateRefusal,
} from './connection-gate';
export { isValidNodeName, nodeNameFromCommonName } from './identity';
export type { Refusal, RefusalCategory } from './listener-handlers';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  type DialHubOptions,
  type ListenHubOptions,
  type LivenessOptions,
} from './options';
export { SendQueue, type SendQueueOptions } from './send-queue';
export {
  DEFAULT_BACKOFF,
  ReconnectingLink,
  backoffDelay,
  type BackoffOptions,
  type DialFailedInfo,
  type DisconnectedInfo,
  type ReconnectingLinkEvents,
  type ReconnectingLinkOptions,
} from './reconnecting-link';
export { dialHub, listenHub } from './hub';
export {
  DEFAULT_HUB_PATH_PATTERN,
  WebSocketHubListener,
  listenWebSocketHub,
  type ListenWebSocketHubOptions,
} from './websocket/websocket-hub-listener';
export { DEFAULT_PROJECT_ID, dialWebSocketHub } from './websocket/dial-websocket-hub';
export { WEBSOCKET_OVERSIZE_FACTOR } from './websocket/websocket-connection';
export { isQuicAvailable, loadQuic, type QuicRuntime } from './quic/load-quic';
export { QUIC_HUB_ALPN, QuicHubListener, listenQuicHub } from './quic/quic-hub-listener';
export { dialQuicHub } from './quic/dial-quic-hub';
export { LengthPrefixedFrameReader } from './stream-pair/length-prefixed-frame-reader';
export { QuicCloseCode } from './quic/quic-link-connection';
export { WEBTRANSPORT_HUB_PATH, WebTransportHubListener, listenWebTransportHub } from './webtransport/webtransport-hub-listener';
export { dialWebTransportHub, webTransportHubAddress } from './webtransport/dial-webtransport-hub';
