// Watch streams over storage events (the wire format is @kedge/kube-core's WatchStreamWriter).
export { WatchStream, type WatchRequest, type WatchSettings } from './watch-stream';
export { toWatchEvent, type WatchFilter } from './watch-events';
