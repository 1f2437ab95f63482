// A kubelet API request refused or failed: the HTTP status the caller gets, and the reason it is counted under.
export type KubeletRefusal =
  | 'no-credentials'
  | 'bad-certificate'
  | 'bad-token'
  | 'auth-unavailable'
  | 'forbidden'
  | 'wrong-node'
  | 'no-session'
  | 'bad-request'
  | 'not-found'
  | 'not-implemented'
  | 'unknown-port'
  | 'per-ip-connections'
  | 'per-ip-rate';

export class KubeletRequestError extends Error {
  override readonly name = 'KubeletRequestError';
  constructor(
    readonly code: number,
    readonly reason: KubeletRefusal,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
