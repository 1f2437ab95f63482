// WebTransport-over-HTTP/2 flow-control settings for @fails-components/webtransport 1.6.x.
//
// Why the server's initial session window equals its limit: the library's HTTP/2 server advertises
// SETTINGS_WT_INITIAL_MAX_DATA = initialSessionFlowControlWindow (16 KiB by default) but starts its own
// session receive window at sessionFlowControlWindowSizeLimit (15 MiB by default). It therefore sends
// WT_MAX_DATA only after half of 15 MiB were consumed, while the client stops at 16 KiB: a session
// that sends more than 16 KiB to the server stalls for good (100 × 1 KiB on one stream does; 10 do
// not). With both numbers equal the two sides agree. See docs/protocol.md.
import type { LinkLimits } from '../connection';

/** per-stream receive window: 1 MiB to start, auto-tuned up to twice a frame */
const STREAM_WINDOW = 1024 * 1024;
/** per-session receive window; one stream per session, so the session bounds the same bytes */
const SESSION_WINDOW_MIN = 16 * 1024 * 1024;

function windows(limits: LinkLimits): { stream: number; streamLimit: number; session: number } {
  const streamLimit = Math.max(STREAM_WINDOW, 2 * limits.maxFrameBytes);
  return { stream: STREAM_WINDOW, streamLimit, session: Math.max(SESSION_WINDOW_MIN, streamLimit) };
}

/** Options for the library's Http2Server. */
export function hubFlowControl(limits: LinkLimits): Record<string, number> {
  const { stream, streamLimit, session } = windows(limits);
  return {
    initialStreamFlowControlWindow: stream,
    streamFlowControlWindowSizeLimit: streamLimit,
    // equal on purpose, see above
    initialSessionFlowControlWindow: session,
    sessionFlowControlWindowSizeLimit: session,
  };
}

/** Options for the library's HTTP/2 client (its windows are consistent; equal anyway, for symmetry). */
export function edgeFlowControl(limits: LinkLimits): Record<string, number> {
  return hubFlowControl(limits);
}
