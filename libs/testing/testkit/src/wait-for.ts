// Tests wait for conditions, never for fixed times: poll until it holds, fail naming what was awaited.
export interface WaitOptions {
  /** generous by default: a slow CI machine must not fail a correct test */
  timeoutMs?: number;
  intervalMs?: number;
  /** extra context for the failure message, e.g. a process's recent logs */
  onTimeout?: () => string;
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, options: WaitOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${options.onTimeout ? `\n${options.onTimeout()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20));
  }
}
