// The shape of a pod stream request as cloudstream serves it: which pod, on which node, what the client
// asked for. The kubelet API (kubelet-api/) builds these from kubelet paths; CloudStream implements the
// handler over the node's hub session.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface PodStreamTarget {
  namespace: string;
  podName: string;
  /** the pod as stored (or a minimal one naming its containers), for the default container */
  pod: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Array<{ name?: string }> } };
  /** the node the pod runs on */
  nodeName: string;
  /** `container`, `command`, `follow`, `tailLines`, `stdin`, ... */
  query: URLSearchParams;
  /** the authenticated caller */
  user: { name: string; groups: string[] };
}

export interface PodStreamHandler {
  /** GET logs: write the log (text/plain) to `response` and end it. */
  streamLog(target: PodStreamTarget, request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** exec, attach and portforward: an HTTP upgrade; the handler owns `socket` from here on, including answering it. */
  upgrade(subresource: 'exec' | 'attach' | 'portforward', target: PodStreamTarget, request: IncomingMessage, socket: Duplex, head: Buffer): void;
}
