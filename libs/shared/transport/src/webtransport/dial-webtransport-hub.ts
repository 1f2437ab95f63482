// The edge end of the WebTransport (HTTP/2) transport. The library's own HTTP/2 client trusts only the
// system CAs and presents no client certificate; kedge replaces just its connect step (the library's
// `createReliableClient` hook) with an HTTP/2 connection that presents the node certificate and checks
// the hub against the kedge CA. Everything above the connection (capsules, streams) is the library's.
import { isIP } from 'node:net';
import { connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Connection } from '../connection';
import { DialError, TransportConfigError } from '../errors';
import { commonNameOf } from '../identity';
import { formatAddress, resolveLimits, resolveLiveness } from '../options';
import type { DialHubOptions } from '../options';
import { withDeadline } from '../with-deadline';
import { edgeFlowControl } from './flow-control';
import { loadWebTransport } from './load-webtransport';
import type { LibraryHttp2Client, WebTransportRuntime } from './load-webtransport';
import { WEBTRANSPORT_HUB_PATH } from './webtransport-hub-listener';
import { WebTransportLinkConnection } from './webtransport-link-connection';

/** WebTransport's HTTP/2 SETTINGS (draft-ietf-webtrans-http2): initial data, stream data, streams */
const SETTINGS_WT_INITIAL_MAX_DATA = 0x2b61;
const SETTINGS_WT_INITIAL_MAX_STREAM_DATA_UNI = 0x2b62;
const SETTINGS_WT_INITIAL_MAX_STREAM_DATA_BIDI = 0x2b63;
const SETTINGS_WT_INITIAL_MAX_STREAMS_UNI = 0x2b64;
const SETTINGS_WT_INITIAL_MAX_STREAMS_BIDI = 0x2b65;

/** `https://host:port[/path]` → host (IPv6 without brackets), port and the session URL. */
export function webTransportHubAddress(url: string): { host: string; port: number; sessionUrl: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new TransportConfigError('url', `${JSON.stringify(url)} is not a URL (${String(error)})`);
  }
  if (parsed.protocol !== 'https:' || parsed.port === '') {
    throw new TransportConfigError('url', `${JSON.stringify(url)} must look like https://host:port`);
  }
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = WEBTRANSPORT_HUB_PATH;
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port), sessionUrl: parsed.toString() };
}

interface DialedSocket {
  client: ClientHttp2Session | undefined;
  /** the first connection error, for the DialError */
  problem: Error | undefined;
  /** rejects when the HTTP/2 connection closes (the library would notice only at its own 2 s timer) */
  lost: Promise<never>;
  markLost: (error: Error) => void;
}

function mutualTlsClient(runtime: WebTransportRuntime, options: DialHubOptions, host: string, dialed: DialedSocket): typeof runtime.Http2WebTransportClient {
  return class MutualTlsHttp2Client extends runtime.Http2WebTransportClient {
    createTransport(this: LibraryHttp2Client): void {
      const client = connect(`https://${isIP(host) === 6 ? `[${host}]` : host}:${this.port}`, {
        settings: {
          enableConnectProtocol: true,
          customSettings: {
            [SETTINGS_WT_INITIAL_MAX_DATA]: this.initialSessionFlowControlWindow,
            [SETTINGS_WT_INITIAL_MAX_STREAM_DATA_UNI]: this.initialStreamFlowControlWindow,
            [SETTINGS_WT_INITIAL_MAX_STREAM_DATA_BIDI]: this.initialStreamFlowControlWindow,
            [SETTINGS_WT_INITIAL_MAX_STREAMS_UNI]: this.initialUnidirectionalStreams,
            [SETTINGS_WT_INITIAL_MAX_STREAMS_BIDI]: this.initialBidirectionalStreams,
          },
        },
        remoteCustomSettings: [
          SETTINGS_WT_INITIAL_MAX_DATA,
          SETTINGS_WT_INITIAL_MAX_STREAM_DATA_UNI,
          SETTINGS_WT_INITIAL_MAX_STREAM_DATA_BIDI,
          SETTINGS_WT_INITIAL_MAX_STREAMS_UNI,
          SETTINGS_WT_INITIAL_MAX_STREAMS_BIDI,
        ],
        ca: options.tls.ca,
        // an empty certificate means "present none" (only useful to test that the hub refuses it)
        ...(options.tls.cert !== '' ? { cert: options.tls.cert, key: options.tls.key } : {}),
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      } as Parameters<typeof connect>[1]);
      this.clientInt = client;
      dialed.client = client;
      client.once('close', () => dialed.markLost(dialed.problem ?? new Error('the hub closed the connection')));
      let connected = false;
      client.on('connect', () => {
        connected = true;
        this.jsobj.onClientConnected({ success: true });
      });
      client.on('error', (error: Error) => {
        dialed.problem ??= error;
        if (!connected) {
          connected = true;
          this.jsobj.onClientConnected({ success: false });
        }
      });
      client.on('remoteSettings', (settings: { enableConnectProtocol?: boolean }) => {
        if (settings.enableConnectProtocol === true) this.jsobj.onClientWebTransportSupport({});
      });
    }
  };
}

/** Connects to a hub over WebTransport on HTTP/2; rejects with DialError when refused or unreachable. */
export async function dialWebTransportHub(options: DialHubOptions): Promise<Connection> {
  const { host, port, sessionUrl } = webTransportHubAddress(options.url);
  const limits = resolveLimits(options.limits);
  const liveness = resolveLiveness(options);
  const runtime = await loadWebTransport();
  const deadline = Date.now() + options.handshakeTimeoutMs;
  let markLost!: (error: Error) => void;
  const lost = new Promise<never>((_resolve, reject) => (markLost = reject));
  lost.catch(() => undefined);
  const dialed: DialedSocket = { client: undefined, problem: undefined, lost, markLost };
  const Client = mutualTlsClient(runtime, options, host, dialed);
  const clientInit = { host, port, ...edgeFlowControl(limits) };
  const transport = new runtime.WebTransport(sessionUrl, {
    forceReliable: true,
    // the library waits this long for the hub's HTTP/2 SETTINGS after TLS. It is also what ends a dial
    // refused for a missing certificate: with TLS 1.3 the client saw its handshake finish and Node's
    // HTTP/2 client does not notice the hub cutting the socket. So short, but never past our deadline.
    webTransportConnectTimeout: Math.min(options.handshakeTimeoutMs, 2_000),
    ...clientInit,
    // the library spreads our options after its own, so this replaces its HTTP/2 client
    createReliableClient: () => new Client(clientInit),
  });
  transport.closed.catch(() => undefined);
  const abandon = (): void => {
    try {
      transport.close({ closeCode: 0, reason: 'dial failed' });
    } catch {
      // not connected yet
    }
    dialed.client?.destroy();
  };
  const failure = (what: string, error: unknown): DialError =>
    new DialError(options.url, dialed.problem !== undefined ? `${what}: ${dialed.problem.message}` : what, { cause: dialed.problem ?? error });

  try {
    await withDeadline(Promise.race([transport.ready, dialed.lost]), deadline, 'the WebTransport session');
  } catch (error) {
    abandon();
    throw failure('WebTransport handshake failed', error);
  }
  const client = dialed.client;
  const socket = client?.socket as TLSSocket | undefined;
  if (client === undefined || socket === undefined) {
    abandon();
    throw failure('WebTransport handshake failed', new Error('no HTTP/2 connection'));
  }
  let commonName = '';
  const certificate = socket.getPeerX509Certificate();
  if (certificate !== undefined) {
    try {
      commonName = commonNameOf(certificate);
    } catch {
      commonName = certificate.subject.replace(/\n/g, ', ');
    }
  }
  const gone = new Promise<void>((resolve) => {
    if (client.destroyed) resolve();
    else client.once('close', () => resolve());
  });
  let link: WebTransportLinkConnection;
  try {
    const stream = await withDeadline(transport.createBidirectionalStream(), deadline, 'opening the stream');
    link = new WebTransportLinkConnection({
      session: transport,
      stream,
      peer: { commonName },
      remoteAddress: formatAddress(socket.remoteAddress, socket.remotePort),
      limits,
      liveness,
      carrier: {
        ping: (callback) => client.ping((error) => callback(error)),
        destroy: () => client.destroy(),
        gone,
      },
    });
  } catch (error) {
    abandon();
    throw failure('the hub did not accept the link', error);
  }
  try {
    await withDeadline(link.sendOpenFrame(), deadline, 'opening the stream');
    // the hub answers with an empty frame once it accepted this node
    await withDeadline(link.opened, deadline, 'waiting for the hub to accept this node');
  } catch (error) {
    await link.close('dial failed');
    throw failure('the hub did not accept the link', error);
  }
  return link;
}
