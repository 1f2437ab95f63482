// Rows → records: the typed device and twin views the store hands out.
import type { AccessMode, DeviceRecord, DeviceState, PropertySpec, PropertyType, TimedValue, TwinState, TwinValue } from '../model';
import type { AttributeRow, DeviceRow, TwinRow } from './database';

function timed(json: string | null, timestamp: number | null): TimedValue | undefined {
  if (json === null) return undefined;
  return { value: JSON.parse(json) as TwinValue, timestamp: timestamp ?? 0 };
}

export function propertyOf(row: TwinRow): PropertySpec {
  const property: PropertySpec = { name: row.name, type: row.type as PropertyType, accessMode: row.access_mode as AccessMode };
  if (row.minimum !== null) property.minimum = row.minimum;
  if (row.maximum !== null) property.maximum = row.maximum;
  if (row.unit !== null) property.unit = row.unit;
  if (row.description !== null) property.description = row.description;
  return property;
}

export function twinOf(row: TwinRow): TwinState {
  const twin: TwinState = { name: row.name, property: propertyOf(row), version: row.version };
  const desired = timed(row.expected, row.expected_ts);
  const reported = timed(row.actual, row.actual_ts);
  if (desired) twin.desired = desired;
  if (reported) twin.reported = reported;
  return twin;
}

export function deviceOf(row: DeviceRow, attributes: AttributeRow[], twins: TwinRow[]): DeviceRecord {
  const attributeMap: Record<string, string> = {};
  for (const attribute of attributes) {
    Object.defineProperty(attributeMap, attribute.name, { value: attribute.value, enumerable: true, writable: true, configurable: true });
  }
  return {
    id: row.id,
    namespace: row.namespace,
    name: row.name,
    description: row.description,
    model: row.model,
    resourceVersion: row.resource_version,
    state: row.state as DeviceState,
    lastOnline: row.last_online ?? undefined,
    attributes: attributeMap,
    twins: twins.map(twinOf),
  };
}

/** Groups rows by device id (rows come ordered by device id). */
export function groupBy<T extends { device_id: string }>(rows: T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(row.device_id);
    if (group) group.push(row);
    else groups.set(row.device_id, [row]);
  }
  return groups;
}

/** Freezes a record and everything in it: the store shares it between callers until the device changes. */
export function frozenDevice(device: DeviceRecord): DeviceRecord {
  for (const twin of device.twins) {
    Object.freeze(twin.property);
    if (twin.desired) Object.freeze(twin.desired);
    if (twin.reported) Object.freeze(twin.reported);
    Object.freeze(twin);
  }
  Object.freeze(device.twins);
  Object.freeze(device.attributes);
  return Object.freeze(device);
}
