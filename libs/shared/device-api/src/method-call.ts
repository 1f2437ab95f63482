// A device method invoked from the cloud (KubeEdge 1.19 `spec.methods`; upstream has no cloud path,
// only each mapper's REST API). cloudcore sends it down the node's hub session; the edge's DeviceTwin
// relays it to the mapper on the MQTT method topic and answers with the mapper's result. Part of the
// wire protocol, so both sides take the names and shapes from here.
//
// cloud → edge: {group: devicemethod, operation: invoke, resource: node/<node>/<ns>/devicemethod/<device>,
//                content: DeviceMethodCall}
// edge → cloud: operation response with a DeviceMethodResult, or operation error with a reason string
//               (the device is not on this node, no mapper answered in time).

export const DEVICE_METHOD_GROUP = 'devicemethod';
export const DEVICE_METHOD_OPERATION = 'invoke';
/** the resource type segment; the name segment is the device */
export const DEVICE_METHOD_TYPE = 'devicemethod';

export interface DeviceMethodCall {
  method: string;
  /** property name → value as text, as in the MQTT method request */
  values: Record<string, string>;
  /** how long the edge waits for the mapper's result */
  timeoutMs: number;
}

/** The mapper's answer (published on `.../method/<name>/result`), passed through unchanged. */
export interface DeviceMethodResult {
  event_id: string;
  timestamp: number;
  method: string;
  /** 200 all written, 400 bad request, 404 no such method, 503 device offline, 500 a write failed */
  code: number;
  reason?: string;
  /** per property: the value read back after the write, or the error */
  results: Record<string, { value?: string; error?: string; code?: string }>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a call's content; the error names the field. Bounds keep a bad cloud message from costing much. */
export function readDeviceMethodCall(content: unknown): DeviceMethodCall {
  if (!isRecord(content)) throw new Error('content: expected an object {method, values, timeoutMs}');
  const { method, values, timeoutMs } = content;
  if (typeof method !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(method)) throw new Error('content.method: expected a method name (letters, digits, _ . -; at most 128)');
  if (!isRecord(values) || Object.keys(values).length === 0 || Object.keys(values).length > 64) throw new Error('content.values: expected an object of 1..64 property values');
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'string' || value.length > 4096) throw new Error(`content.values.${name.slice(0, 64)}: expected a string of at most 4096 characters`);
  }
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 300_000) throw new Error('content.timeoutMs: expected an integer 1..300000');
  return { method, values: values as Record<string, string>, timeoutMs };
}

/** Reads a result from a mapper or the edge; the error names the field. */
export function readDeviceMethodResult(content: unknown): DeviceMethodResult {
  if (!isRecord(content)) throw new Error('result: expected an object');
  const { method, code, reason, results } = content;
  if (typeof method !== 'string') throw new Error('result.method: expected a string');
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599) throw new Error('result.code: expected an HTTP-style status 100..599');
  if (reason !== undefined && typeof reason !== 'string') throw new Error('result.reason: expected a string');
  if (!isRecord(results)) throw new Error('result.results: expected an object');
  for (const [name, entry] of Object.entries(results)) {
    if (!isRecord(entry)) throw new Error(`result.results.${name.slice(0, 64)}: expected an object`);
    for (const field of ['value', 'error', 'code'] as const) {
      if (entry[field] !== undefined && typeof entry[field] !== 'string') throw new Error(`result.results.${name.slice(0, 64)}.${field}: expected a string`);
    }
  }
  return {
    event_id: typeof content['event_id'] === 'string' ? content['event_id'] : '',
    timestamp: typeof content['timestamp'] === 'number' ? content['timestamp'] : 0,
    method,
    code,
    ...(reason === undefined ? {} : { reason }),
    results: results as DeviceMethodResult['results'],
  };
}
