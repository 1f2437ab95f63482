// Messages between the bus and the cloud (group `user`): uploads of application topics (edge →
// cloud, operation `upload`, resource = the MQTT topic, as KubeEdge's eventbus sends them), and the
// cloud's `publish` / `subscribe` / `unsubscribe` messages (cloud → edge).
import { Group, Operation, newMessage, type Message } from '@kedge/protocol';
import { EventBusError } from './errors';
import { checkFilter, checkTopic } from './topics';

export const EVENTBUS_SOURCE = 'eventbus';

/** Content of an upload whose payload is not UTF-8 text. */
export interface BinaryContent {
  encoding: 'base64';
  data: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The payload as text when it is valid UTF-8 (KubeEdge sends the payload string), else base64. */
export function payloadContent(payload: Buffer): string | BinaryContent {
  try {
    return utf8.decode(payload);
  } catch {
    return { encoding: 'base64', data: payload.toString('base64') };
  }
}

export function uploadMessage(topic: string, payload: Buffer): Message<string | BinaryContent> {
  return newMessage({ source: EVENTBUS_SOURCE, group: Group.User, operation: Operation.Upload, resource: topic, content: payloadContent(payload) });
}

export type CloudBusCommand =
  | { kind: 'publish'; topic: string; payload: Buffer }
  | { kind: 'subscribe'; filter: string }
  | { kind: 'unsubscribe'; filter: string }
  | { kind: 'ignored'; reason: string };

function isBinary(content: unknown): content is BinaryContent {
  return typeof content === 'object' && content !== null && (content as BinaryContent).encoding === 'base64' && typeof (content as BinaryContent).data === 'string';
}

/**
 * Reads a cloud → edge message of group `user`. `publish`: resource = topic, content = the payload
 * (a string as is, base64 content decoded, any other JSON serialised). `subscribe`/`unsubscribe`:
 * resource = an application topic filter to start/stop uploading.
 * @throws EventBusError INVALID_TOPIC for a bad resource
 */
export function parseCloudMessage(message: Message): CloudBusCommand {
  const { operation, resource } = message.route;
  switch (operation) {
    case 'publish': {
      const topic = checkTopic(resource, 'route.resource');
      const { content } = message;
      let payload: Buffer;
      if (typeof content === 'string') payload = Buffer.from(content);
      else if (isBinary(content)) payload = Buffer.from(content.data, 'base64');
      else if (content === undefined || content === null) payload = Buffer.alloc(0);
      else payload = Buffer.from(JSON.stringify(content));
      return { kind: 'publish', topic, payload };
    }
    case 'subscribe':
    case 'unsubscribe': {
      const filter = checkFilter(resource, 'route.resource');
      if (filter.startsWith('$hw/')) throw new EventBusError('INVALID_TOPIC', `${filter}: $hw/ topics belong to the device twin and are never uploaded`, 'route.resource');
      return { kind: operation, filter };
    }
    default:
      return { kind: 'ignored', reason: `operation ${JSON.stringify(String(operation)).slice(0, 40)} is not one of publish, subscribe, unsubscribe` };
  }
}
