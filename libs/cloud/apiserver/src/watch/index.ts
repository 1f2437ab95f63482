// Watch streams over storage events.
export { WatchStream, type WatchRequest, type WatchSettings } from './watch-stream';
export { toWatchEvent, type WatchEvent, type WatchEventType, type WatchFilter } from './watch-events';
