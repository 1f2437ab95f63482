// Loads @fails-components/webtransport once, for its pure-JS WebTransport over HTTP/2 only. Its
// optional native HTTP/3 part is not installed; the package tries to import it at load and prints
// the failure to the console, which we drop (it is expected, not an error of ours).
import type { ClientHttp2Session, Http2SecureServer } from 'node:http2';

/** The parts of the library kedge uses. Its own typings describe the browser API, not these internals. */
export interface WebTransportRuntime {
  Http2Server: new (init: Record<string, unknown>) => LibraryHttpServer;
  WebTransport: new (url: string, init: Record<string, unknown>) => LibraryWebTransport;
  /** the library's HTTP/2 client; kedge subclasses it to dial with the node certificate (see dial) */
  Http2WebTransportClient: new (init: Record<string, unknown>) => LibraryHttp2Client;
}

export interface LibraryWtStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

export interface LibraryWtSession {
  ready: Promise<void>;
  closed: Promise<{ closeCode?: number; reason?: string }>;
  peerAddress?: string;
  incomingBidirectionalStreams: ReadableStream<LibraryWtStream>;
  incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  createBidirectionalStream(): Promise<LibraryWtStream>;
  close(info?: { closeCode?: number; reason?: string }): void;
}

export type LibraryWebTransport = LibraryWtSession;

export interface LibraryHttpServer {
  createTransportInt(): Promise<void>;
  sessionStream(path: string): ReadableStream<LibraryWtSession>;
  transportInt: { serverInt: Http2SecureServer; stopServer(): void };
}

export interface LibraryHttp2Client {
  hostname: string;
  port: number;
  initialSessionFlowControlWindow: number;
  initialStreamFlowControlWindow: number;
  initialBidirectionalStreams: number;
  initialUnidirectionalStreams: number;
  clientInt: ClientHttp2Session | undefined;
  jsobj: {
    onClientConnected(event: { success: boolean }): void;
    onClientWebTransportSupport(event: object): void;
  };
}

const EXPECTED_NOISE = [/^http3 loader:/, /^Problem loading http3-quiche transport/, /^Did you install @fails-components\/webtransport-transport-http3-quiche/];

let loading: Promise<WebTransportRuntime> | undefined;

async function load(): Promise<WebTransportRuntime> {
  const originalLog = console.log;
  const originalError = console.error;
  const filter =
    (write: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      if (typeof args[0] === 'string' && EXPECTED_NOISE.some((noise) => noise.test(args[0] as string))) return;
      write(...args);
    };
  console.log = filter(originalLog);
  console.error = filter(originalError);
  try {
    // its typings resolve only under the "node" export condition, which our type check does not use
    const packageName = '@fails-components/webtransport';
    const library = (await import(packageName)) as {
      Http2Server: WebTransportRuntime['Http2Server'];
      WebTransport: WebTransportRuntime['WebTransport'];
      quicheLoaded: Promise<unknown>;
    };
    // the HTTP/2 client class is not exported by name; it sits beside the entry file
    const entry = import.meta.resolve(packageName);
    const http2Part = (await import(new URL('./http2/node/index.js', entry).href)) as {
      Http2WebTransportClient: WebTransportRuntime['Http2WebTransportClient'];
    };
    // both of the library's attempts to load HTTP/3 have failed (and printed) once this settles
    await library.quicheLoaded;
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { Http2Server: library.Http2Server, WebTransport: library.WebTransport, Http2WebTransportClient: http2Part.Http2WebTransportClient };
  } finally {
    console.log = originalLog;
    console.error = originalError;
  }
}

/** The library, loaded once per process. */
export function loadWebTransport(): Promise<WebTransportRuntime> {
  loading ??= load();
  return loading;
}
