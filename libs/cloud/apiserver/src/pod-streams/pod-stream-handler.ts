// pods/log, pods/exec, pods/attach and pods/portforward are served by whoever can reach the node
// (in kedge, the edge stream through cloudhub). The API server only authenticates, authorizes and
// finds the pod, then hands the request to the registered PodStreamHandler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KubeObject } from '@kedge/kube-core';

export interface PodStreamTarget {
  namespace: string;
  podName: string;
  /** the pod as stored, with spec.nodeName telling where it runs */
  pod: KubeObject;
  /** spec.nodeName; '' when the pod is not scheduled */
  nodeName: string;
  /** `container`, `command`, `follow`, `tailLines`, ... as the client sent them */
  query: URLSearchParams;
  /** the authenticated user making the request */
  user: { name: string; groups: string[] };
}

export interface PodStreamHandler {
  /** GET pods/<name>/log: write the log (text/plain) to `response` and end it. */
  streamLog?(target: PodStreamTarget, request: IncomingMessage, response: ServerResponse): void | Promise<void>;
  /**
   * exec, attach and portforward: an HTTP upgrade (WebSocket or SPDY channel protocols); the handler owns
   * `socket` from here on, including answering the upgrade.
   */
  upgrade?(subresource: 'exec' | 'attach' | 'portforward', target: PodStreamTarget, request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export class PodStreamRegistry {
  private handler: PodStreamHandler | undefined;

  /** Installs the handler; returns a function that removes it again. */
  register(handler: PodStreamHandler): () => void {
    this.handler = handler;
    return () => {
      if (this.handler === handler) this.handler = undefined;
    };
  }

  get current(): PodStreamHandler | undefined {
    return this.handler;
  }
}
