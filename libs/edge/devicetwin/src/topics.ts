// KubeEdge's DeviceTwin MQTT topics. Since KubeEdge v1.17 a device is addressed as
// `<namespace>/<name>`: `$hw/events/device/<namespace>/<name>/twin/update`. The older form with a
// single id segment (`$hw/events/device/<name>/...`, KubeEdge ≤ 1.16) is accepted when legacy topics
// are enabled, for devices in the legacy namespace; answers go back on the form the request used.

export const DEVICE_PREFIX = '$hw/events/device/';
export const NODE_PREFIX = '$hw/events/node/';

/** Inbound actions on a device, as the topic suffix after the device id. */
export const DEVICE_ACTIONS = ['twin/update', 'twin/get', 'state/update', 'state/get'] as const;
export type DeviceAction = (typeof DEVICE_ACTIONS)[number];

export type TwinTopic =
  | { kind: 'device'; action: DeviceAction; namespace: string; name: string; /** the id segment(s) as they appeared */ topicId: string }
  | { kind: 'membership-get'; node: string };

/** Filters the twin subscribes to. */
export function twinFilters(legacy: boolean): string[] {
  const filters = DEVICE_ACTIONS.map((action) => `${DEVICE_PREFIX}+/+/${action}`);
  if (legacy) filters.push(...DEVICE_ACTIONS.map((action) => `${DEVICE_PREFIX}+/${action}`));
  filters.push(`${NODE_PREFIX}+/membership/get`);
  return filters;
}

/** Reads an inbound twin topic; undefined for anything else. */
export function parseTwinTopic(topic: string, legacyNamespace: string | undefined): TwinTopic | undefined {
  if (topic.startsWith(NODE_PREFIX)) {
    const [node, what, verb, ...rest] = topic.slice(NODE_PREFIX.length).split('/');
    if (node && what === 'membership' && verb === 'get' && rest.length === 0) return { kind: 'membership-get', node };
    return undefined;
  }
  if (!topic.startsWith(DEVICE_PREFIX)) return undefined;
  const levels = topic.slice(DEVICE_PREFIX.length).split('/');
  const action = levels.slice(-2).join('/') as DeviceAction;
  if (!DEVICE_ACTIONS.includes(action)) return undefined;
  const id = levels.slice(0, -2);
  const [first, second] = id;
  if (id.length === 2 && first && second) return { kind: 'device', action, namespace: first, name: second, topicId: `${first}/${second}` };
  if (id.length === 1 && first && legacyNamespace !== undefined) return { kind: 'device', action, namespace: legacyNamespace, name: first, topicId: first };
  return undefined;
}

/** `$hw/events/device/<topicId>/<suffix>`, e.g. suffix `twin/update/result`. */
export function deviceTopic(topicId: string, suffix: string): string {
  return `${DEVICE_PREFIX}${topicId}/${suffix}`;
}

export function membershipTopic(node: string, suffix: 'get/result' | 'updated'): string {
  return `${NODE_PREFIX}${node}/membership/${suffix}`;
}
