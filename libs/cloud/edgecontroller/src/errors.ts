// Typed errors of the edge controller. Upstream errors carry the reason label that metrics and the
// edge's `error` answer use, so a refused message is counted, logged and answered the same way.

export type UpstreamRefusal =
  /** the message names another node's object */
  | 'foreign-node'
  /** a pod status for a pod that is not bound to the sending node */
  | 'pod-not-bound'
  /** a pod delete for a pod that is not terminating (the edge only finishes deletions) */
  | 'not-terminating'
  /** a configmap/secret query for an object none of the node's pods references */
  | 'not-referenced'
  /** malformed resource or content */
  | 'invalid'
  /** an operation/type pair this controller does not handle */
  | 'unsupported'
  /** the object does not exist */
  | 'not-found'
  /** the sending node exists in Kubernetes but is not an edge node kedge registered (a control-plane node) */
  | 'not-edge-node'
  /** the sending node has not registered its Node (or it was deleted) */
  | 'not-registered'
  /** a Node label the edge may not set on itself (NodeRestriction's rule) */
  | 'forbidden-label'
  /** more Events than the node's budget (a token bucket per node); dropped */
  | 'rate-limited'
  /** a token for another ServiceAccount than the one the node's pod runs as */
  | 'foreign-service-account'
  /** a bearer token that is not a ServiceAccount token bound to a pod */
  | 'not-pod-token';

export class EdgeControllerError extends Error {
  override readonly name: string = 'EdgeControllerError';
}

/** The edge asked for something it may not have or sent something unusable; answered with `error`. */
export class UpstreamRefusedError extends EdgeControllerError {
  override readonly name = 'UpstreamRefusedError';
  constructor(
    readonly reason: UpstreamRefusal,
    message: string,
  ) {
    super(message);
  }
}
