// Checks a down message (cloud → edge, group `twin`) completely before anything is written, so a bad
// one is refused naming the field and never leaves half a device in the store. Formats: README,
// "Down messages".
import { CLUSTER_SCOPED_NAMESPACE, Operation, ProtocolError, parseEdgeResource, type Message } from '@kedge/protocol';
import { isRecord } from '@kedge/kube-core';
import { BadMessageError, DeviceTwinError, shown } from './errors';
import { type DeviceSpec, type PropertySpec, type TwinValue } from './model';
import { readAccessMode, readLimit, readPropertyType, readValue } from './values';

export type DownChange =
  | { kind: 'membership'; node: string; resourceVersion: bigint; devices: DeviceSpec[] }
  | { kind: 'device'; spec: DeviceSpec }
  | { kind: 'delete'; namespace: string; name: string; resourceVersion: bigint | undefined };

export const MEMBERSHIP_TYPE = 'membership';
export const DEVICE_TYPE = 'device';
/** property names: KubeEdge's twin key rule (≤ 128 bytes, restricted charset) */
const PROPERTY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ATTRIBUTE_NAME = PROPERTY_NAME;
const DECIMAL = /^\d{1,19}$/;
const KUBERNETES_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_RESOURCE_VERSION = 2n ** 63n - 1n;
const MAX_TEXT = 1024;

function text(raw: unknown, field: string, required: boolean): string {
  if (raw === undefined && !required) return '';
  if (typeof raw !== 'string' || (required && raw === '')) throw new BadMessageError(field, `must be a${required ? ' non-empty' : ''} string, got ${shown(raw)}`);
  if (raw.length > MAX_TEXT) throw new BadMessageError(field, `is longer than ${MAX_TEXT} characters`);
  return raw;
}

function kubernetesName(raw: unknown, field: string): string {
  const value = text(raw, field, true);
  if (value.length > 253 || !KUBERNETES_NAME.test(value)) throw new BadMessageError(field, `${shown(value)} is not a Kubernetes name (lowercase letters, digits, "-", ".")`);
  return value;
}

function resourceVersion(raw: unknown, field: string, required: boolean): bigint | undefined {
  if ((raw === undefined || raw === '') && !required) return undefined;
  if (typeof raw !== 'string' || !DECIMAL.test(raw)) throw new BadMessageError(field, `must be a decimal string (the Kubernetes resourceVersion), got ${shown(raw)}`);
  const version = BigInt(raw);
  if (version > MAX_RESOURCE_VERSION) throw new BadMessageError(field, `${raw} is larger than 2^63-1`);
  return version;
}

function array(raw: unknown, field: string): unknown[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new BadMessageError(field, `must be an array, got ${shown(raw)}`);
  return raw;
}

function property(raw: unknown, field: string): PropertySpec {
  if (!isRecord(raw)) throw new BadMessageError(field, `must be an object, got ${shown(raw)}`);
  const name = text(raw['name'], `${field}.name`, true);
  if (!PROPERTY_NAME.test(name)) throw new BadMessageError(`${field}.name`, `${shown(name)} must be 1 to 128 letters, digits, "_", "-" or "."`);
  try {
    const spec: PropertySpec = {
      name,
      type: readPropertyType(raw['type'], `${field}.type`),
      accessMode: readAccessMode(raw['accessMode'], `${field}.accessMode`),
    };
    const minimum = readLimit(raw['minimum'], `${field}.minimum`);
    const maximum = readLimit(raw['maximum'], `${field}.maximum`);
    if (minimum !== undefined) spec.minimum = minimum;
    if (maximum !== undefined) spec.maximum = maximum;
    if (minimum !== undefined && maximum !== undefined && minimum > maximum) throw new BadMessageError(`${field}.minimum`, `${minimum} is above maximum ${maximum}`);
    if ((minimum !== undefined || maximum !== undefined) && !['int', 'float', 'double'].includes(spec.type)) {
      throw new BadMessageError(`${field}.minimum`, `limits apply to int, float and double only, not ${spec.type}`);
    }
    if (raw['unit'] !== undefined && raw['unit'] !== '') spec.unit = text(raw['unit'], `${field}.unit`, false);
    if (raw['description'] !== undefined && raw['description'] !== '') spec.description = text(raw['description'], `${field}.description`, false);
    return spec;
  } catch (error) {
    if (error instanceof DeviceTwinError && !(error instanceof BadMessageError)) throw new BadMessageError(error.field ?? field, error.reason);
    throw error;
  }
}

function attributes(raw: unknown, field: string): Record<string, string> {
  if (raw === undefined) return {};
  if (!isRecord(raw)) throw new BadMessageError(field, `must be an object of strings, got ${shown(raw)}`);
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!ATTRIBUTE_NAME.test(key)) throw new BadMessageError(field, `attribute name ${shown(key)} must be 1 to 128 letters, digits, "_", "-" or "."`);
    Object.defineProperty(result, key, { value: text(value, `${field}.${key}`, false), enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** One Device as the cloud sends it. @throws BadMessageError */
export function parseDeviceSpec(raw: unknown, field: string, expected?: { namespace: string; name: string }): DeviceSpec {
  if (!isRecord(raw)) throw new BadMessageError(field, `must be a device object, got ${shown(raw)}`);
  const namespace = kubernetesName(raw['namespace'], `${field}.namespace`);
  const name = kubernetesName(raw['name'], `${field}.name`);
  if (expected && (namespace !== expected.namespace || name !== expected.name)) {
    throw new BadMessageError(`${field}.name`, `${namespace}/${name} does not match ${expected.namespace}/${expected.name} in route.resource`);
  }
  const model = raw['model'];
  if (!isRecord(model)) throw new BadMessageError(`${field}.model`, `must be an object with name and properties, got ${shown(model)}`);
  const properties = array(model['properties'], `${field}.model.properties`).map((item, index) => property(item, `${field}.model.properties[${index}]`));
  const byName = new Map<string, PropertySpec>();
  properties.forEach((spec, index) => {
    if (byName.has(spec.name)) throw new BadMessageError(`${field}.model.properties[${index}].name`, `${shown(spec.name)} appears twice`);
    byName.set(spec.name, spec);
  });
  const desired = new Map<string, TwinValue>();
  array(raw['properties'], `${field}.properties`).forEach((item, index) => {
    const at = `${field}.properties[${index}]`;
    if (!isRecord(item)) throw new BadMessageError(at, `must be an object, got ${shown(item)}`);
    const propertyName = text(item['name'], `${at}.name`, true);
    const spec = byName.get(propertyName);
    if (spec === undefined) throw new BadMessageError(`${at}.name`, `${shown(propertyName)} is not a property of model ${shown(model['name'])}`);
    const wanted = item['desired'];
    if (wanted === undefined || wanted === null) return;
    if (!isRecord(wanted)) throw new BadMessageError(`${at}.desired`, `must be an object with a value, got ${shown(wanted)}`);
    if (wanted['value'] === undefined || wanted['value'] === '') return;
    if (spec.accessMode === 'ReadOnly') throw new BadMessageError(`${at}.desired`, `property "${spec.name}" is ReadOnly: it cannot have a desired value`);
    try {
      desired.set(propertyName, readValue(wanted['value'], spec, `${at}.desired.value`));
    } catch (error) {
      if (error instanceof DeviceTwinError) throw new BadMessageError(`${at}.desired.value`, error.reason);
      throw error;
    }
  });
  return {
    namespace,
    name,
    resourceVersion: resourceVersion(raw['resourceVersion'], `${field}.resourceVersion`, true) ?? 0n,
    description: text(raw['description'], `${field}.description`, false),
    model: text(model['name'], `${field}.model.name`, true),
    properties,
    attributes: attributes(raw['attributes'], `${field}.attributes`),
    desired,
  };
}

/**
 * Validates a down message of group `twin` and returns the change it carries.
 * @throws BadMessageError naming the field at fault
 */
export function parseDownMessage(message: Message, nodeName: string): DownChange {
  const route: unknown = isRecord(message) ? message.route : undefined;
  if (!isRecord(route)) throw new BadMessageError('route', 'is missing');
  const operation = route['operation'];
  let resource;
  try {
    resource = parseEdgeResource(route['resource'] as string);
  } catch (error) {
    if (error instanceof ProtocolError) throw new BadMessageError('route.resource', error.message);
    throw error;
  }
  const content: unknown = (message as { content?: unknown }).content;
  if (resource.type === MEMBERSHIP_TYPE) {
    if (resource.namespace !== CLUSTER_SCOPED_NAMESPACE || resource.name !== nodeName) {
      throw new BadMessageError('route.resource', `membership must be null/membership/${nodeName} on this node`);
    }
    if (operation !== Operation.Update && operation !== Operation.Insert) throw new BadMessageError('route.operation', `${shown(operation)} is not insert or update`);
    if (!isRecord(content)) throw new BadMessageError('content', `must be a membership object, got ${shown(content)}`);
    if (!Array.isArray(content['devices'])) throw new BadMessageError('content.devices', `must be the array of every device bound to the node, got ${shown(content['devices'])}`);
    const devices = content['devices'].map((device, index) => parseDeviceSpec(device, `content.devices[${index}]`));
    const seen = new Set<string>();
    devices.forEach((device, index) => {
      const id = `${device.namespace}/${device.name}`;
      if (seen.has(id)) throw new BadMessageError(`content.devices[${index}]`, `${id} appears twice`);
      seen.add(id);
    });
    return { kind: 'membership', node: nodeName, resourceVersion: resourceVersion(content['resourceVersion'], 'content.resourceVersion', true) ?? 0n, devices };
  }
  if (resource.type !== DEVICE_TYPE || resource.name === undefined) {
    throw new BadMessageError('route.resource', `expected null/membership/<node> or <namespace>/device/<name>, got ${shown(route['resource'])}`);
  }
  const expected = { namespace: resource.namespace, name: resource.name };
  if (operation === Operation.Delete) {
    const version = isRecord(content) ? resourceVersion(content['resourceVersion'], 'content.resourceVersion', false) : undefined;
    return { kind: 'delete', ...expected, resourceVersion: version };
  }
  if (operation !== Operation.Insert && operation !== Operation.Update) throw new BadMessageError('route.operation', `${shown(operation)} is not one of insert, update, delete`);
  return { kind: 'device', spec: parseDeviceSpec(content, 'content', expected) };
}
