// Shared test helpers: polling instead of sleeping, and recorders for connection events.
import { newMessage } from '@kedge/protocol';
export { Cleanup, waitFor } from '@kedge/testkit';
import type { Message } from '@kedge/protocol';
import type { Connection, ConnectionClosed } from '../src/connection';

/** Polls `condition` until it holds; fails with `what` after a generous deadline. */

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

