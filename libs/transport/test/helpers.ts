// Shared test helpers: polling instead of sleeping, and recorders for connection events.
import { newMessage } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import type { Connection, ConnectionClosed } from '../src/connection';

/** Polls `condition` until it holds; fails with `what` after a generous deadline. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function testMessage(content: unknown, resource = 'default/configmap/test'): Message {
  return newMessage({ source: 'transport-test', group: 'resource', operation: 'update', resource, content });
}

export interface Recorder {
  connection: Connection;
  messages: Message[];
  badFrames: Error[];
  closes: ConnectionClosed[];
}

/** Attaches listeners for every event right away (before any event can be missed). */
export function record(connection: Connection): Recorder {
  const recorder: Recorder = { connection, messages: [], badFrames: [], closes: [] };
  connection.on('message', (message) => recorder.messages.push(message));
  connection.on('badFrame', (error) => recorder.badFrames.push(error));
  connection.on('close', (info) => recorder.closes.push(info));
  return recorder;
}

/** Things a test started, closed in reverse order by afterEach. */
export class Cleanup {
  private readonly tasks: (() => Promise<void> | void)[] = [];

  add(task: () => Promise<void> | void): void {
    this.tasks.push(task);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let task = this.tasks.pop(); task !== undefined; task = this.tasks.pop()) {
      try {
        await task();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}
