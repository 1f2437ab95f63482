// The pluggable pods/log and pods/exec|attach|portforward handler.
export { PodStreamRegistry, type PodStreamHandler, type PodStreamTarget } from './pod-stream-handler';
