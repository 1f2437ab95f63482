// Typed errors of the transport layer, so callers can tell "the link is gone" from "the peer is slow"
// from "this machine cannot do QUIC" without parsing messages.

/** The connection is closed (or closing); the message was not sent. Redial and resend. */
export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`connection closed (${reason}); the message was not sent, resend it on a new connection`, options);
  }
}

/** send() waited longer than the send timeout for room in a full send queue. */
export class SendQueueTimeoutError extends Error {
  override readonly name = 'SendQueueTimeoutError';
  constructor(
    readonly waitedMs: number,
    readonly queuedBytes: number,
  ) {
    super(
      `send queue stayed full for ${waitedMs} ms (${queuedBytes} bytes waiting for the socket); ` +
        'the peer or the network is too slow: send less, or raise limits.sendTimeoutMs / limits.maxQueuedBytes',
    );
  }
}

/** Even the line of senders waiting for room is full: refusing instead of growing memory. */
export class SendQueueFullError extends Error {
  override readonly name = 'SendQueueFullError';
  constructor(
    readonly waitingBytes: number,
    readonly maxQueuedBytes: number,
  ) {
    super(
      `send queue full: ${waitingBytes} bytes already wait for room behind ${maxQueuedBytes} queued bytes; ` +
        'slow down the sender or raise limits.maxQueuedBytes',
    );
  }
}

/** A certificate common name that does not name a node (`system:node:<name>`). */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly commonName: string,
    problem: string,
  ) {
    super(`certificate CN ${JSON.stringify(commonName)} ${problem}; edge certificates must have CN "system:node:<node-name>"`);
  }
}

/** The QUIC transport cannot be used on this machine (its native module did not load). */
export class QuicUnavailableError extends Error {
  override readonly name = 'QuicUnavailableError';
  constructor(
    readonly platform: string,
    options?: { cause?: unknown },
  ) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      `QUIC transport unavailable on ${platform}: @matrixai/quic could not load its native module ` +
        `(no prebuilt binary for this platform, or it failed to load)${detail}. Use --hub-protocol websocket`,
      options,
    );
  }
}

/** Dialing the hub failed: unreachable, TLS refused, identity refused, or the handshake timed out. */
export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(
    readonly url: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`cannot connect to hub ${url}: ${problem}${detail}`, options);
  }
}

/** Options that cannot work (a malformed URL, a keepalive longer than the idle timeout, ...). */
export class TransportConfigError extends Error {
  override readonly name = 'TransportConfigError';
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`invalid transport option ${option}: ${problem}`);
  }
}
