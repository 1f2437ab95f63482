// Transport selection in one place, so hubs name a TransportKind and never a transport.
import type { Connection, HubListener, TransportKind } from './connection';
import type { DialHubOptions, ListenHubOptions } from './options';
import { dialQuicHub } from './quic/dial-quic-hub';
import { listenQuicHub } from './quic/quic-hub-listener';
import { dialWebSocketHub } from './websocket/dial-websocket-hub';
import { listenWebSocketHub } from './websocket/websocket-hub-listener';
import { dialWebTransportHub } from './webtransport/dial-webtransport-hub';
import { listenWebTransportHub } from './webtransport/webtransport-hub-listener';

/** Listens for edges on the given transport. For 'quic' this rejects with QuicUnavailableError where QUIC cannot run. */
export function listenHub(kind: TransportKind, options: ListenHubOptions): Promise<HubListener> {
  if (kind === 'quic') return listenQuicHub(options);
  if (kind === 'webtransport') return listenWebTransportHub(options);
  return listenWebSocketHub(options);
}

/** Dials the hub on the given transport (`wss://host:port`, `quic://host:port` or, for webtransport, `https://host:port`). */
export function dialHub(kind: TransportKind, options: DialHubOptions): Promise<Connection> {
  if (kind === 'quic') return dialQuicHub(options);
  if (kind === 'webtransport') return dialWebTransportHub(options);
  return dialWebSocketHub(options);
}
