// Bounds one step of a handshake by the handshake's overall deadline (an absolute time, ms).

/** Settles like `promise`, or rejects once `deadline` passed, naming the step that was too slow. */
export function withDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took longer than the handshake timeout`)), Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
