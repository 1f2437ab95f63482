// KubeEdge's device MQTT contract (edge/pkg/devicetwin/dtcommon): the `$hw/events/...` topics that
// mappers, applications and the edge's DeviceTwin exchange. Since KubeEdge v1.17 a device is addressed
// as `<namespace>/<name>`: `$hw/events/device/<namespace>/<name>/twin/update`. The older form with one
// id segment (`$hw/events/device/<name>/...`, KubeEdge ≤ 1.16) is read only when a legacy namespace is
// given; answers go back on the form the request used. The strings are the compatibility promise.

/** Everything under it belongs to the device contract (the eventbus bridges it, the twin serves it). */
export const HW_EVENTS_PREFIX = '$hw/events/';
export const DEVICE_TOPIC_PREFIX = `${HW_EVENTS_PREFIX}device/`;
export const NODE_TOPIC_PREFIX = `${HW_EVENTS_PREFIX}node/`;

/** Requests a mapper or application sends about one device: the topic suffix after the device id. */
export const DEVICE_ACTIONS = ['twin/update', 'twin/get', 'state/update', 'state/get'] as const;
export type DeviceAction = (typeof DEVICE_ACTIONS)[number];

/**
 * What can follow the device id: a request, its result, and what the twin broadcasts after a change
 * (`twin/update/document` old and new values, `twin/update/delta` desired ≠ reported, `updated` attributes).
 */
export type DeviceTopicSuffix =
  | DeviceAction
  | `${DeviceAction}/result`
  | 'twin/update/document'
  | 'twin/update/delta'
  | 'updated'
  | `method/${string}`
  | `method/${string}/result`;

/**
 * kedge's device method invocation (KubeEdge 1.19 `spec.methods`; upstream has only a mapper REST API,
 * `/api/v1/devicemethod/...`, no MQTT topic): `$hw/events/device/<ns>/<name>/method/<method>` with
 * `{event_id?, values: {<prop>: "<value>"}}`, answered by the mapper on `.../method/<method>/result`.
 */
export function methodTopic(topicId: string, method: string): string {
  return deviceTopic(topicId, `method/${method}`);
}

/** Filters of every method invocation, and of every method result (what mappers publish). */
export const METHOD_INVOKE_FILTER = `${DEVICE_TOPIC_PREFIX}+/+/method/+`;
export const METHOD_RESULT_FILTER = `${DEVICE_TOPIC_PREFIX}+/+/method/+/result`;

/** After `$hw/events/node/<node>/membership/`: the member list request, its result, and the added/removed broadcast. */
export type MembershipTopicSuffix = 'get' | 'get/result' | 'updated';

/** `$hw/events/device/<topicId>/<suffix>`; `topicId` is `<namespace>/<name>`, or `<name>` in the legacy form. */
export function deviceTopic(topicId: string, suffix: DeviceTopicSuffix): string {
  return `${DEVICE_TOPIC_PREFIX}${topicId}/${suffix}`;
}

/** `$hw/events/node/<node>/membership/<suffix>`. */
export function membershipTopic(node: string, suffix: MembershipTopicSuffix): string {
  return `${NODE_TOPIC_PREFIX}${node}/membership/${suffix}`;
}

/** An inbound request topic, as parseRequestTopic reads it. */
export type RequestTopic =
  | { kind: 'device'; action: DeviceAction; namespace: string; name: string; /** the id segment(s) as they appeared */ topicId: string }
  | { kind: 'membership-get'; node: string };

/** Filters that receive every request the twin answers; `legacy` adds the single-segment device form. */
export function requestFilters(legacy: boolean): string[] {
  const filters = DEVICE_ACTIONS.map((action) => `${DEVICE_TOPIC_PREFIX}+/+/${action}`);
  if (legacy) filters.push(...DEVICE_ACTIONS.map((action) => `${DEVICE_TOPIC_PREFIX}+/${action}`));
  filters.push(`${NODE_TOPIC_PREFIX}+/membership/get`);
  return filters;
}

/**
 * Reads an inbound request topic; undefined for anything else (results, broadcasts, unknown actions).
 * A single-segment device id is read only with a `legacyNamespace`, which becomes the device's namespace.
 */
export function parseRequestTopic(topic: string, legacyNamespace: string | undefined): RequestTopic | undefined {
  if (topic.startsWith(NODE_TOPIC_PREFIX)) {
    const [node, what, verb, ...rest] = topic.slice(NODE_TOPIC_PREFIX.length).split('/');
    if (node && what === 'membership' && verb === 'get' && rest.length === 0) return { kind: 'membership-get', node };
    return undefined;
  }
  if (!topic.startsWith(DEVICE_TOPIC_PREFIX)) return undefined;
  // every twin request comes through here: find the last two levels (the action) without splitting
  const actionSlash = topic.lastIndexOf('/', topic.lastIndexOf('/') - 1);
  if (actionSlash < DEVICE_TOPIC_PREFIX.length) return undefined;
  const action = topic.slice(actionSlash + 1) as DeviceAction;
  if (!DEVICE_ACTIONS.includes(action)) return undefined;
  const topicId = topic.slice(DEVICE_TOPIC_PREFIX.length, actionSlash);
  const slash = topicId.indexOf('/');
  if (slash === -1) {
    if (topicId !== '' && legacyNamespace !== undefined) return { kind: 'device', action, namespace: legacyNamespace, name: topicId, topicId };
    return undefined;
  }
  const namespace = topicId.slice(0, slash);
  const name = topicId.slice(slash + 1);
  if (namespace !== '' && name !== '' && !name.includes('/')) return { kind: 'device', action, namespace, name, topicId };
  return undefined;
}
