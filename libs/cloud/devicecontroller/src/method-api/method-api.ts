// DeviceMethodApi: the HTTP face of device methods, mounted by cloudcore on its HTTPS port (10002):
//
//   POST /apis/devices.kubeedge.io/v1beta1/namespaces/<ns>/devices/<name>/methods/<method>
//        {"values": {"<property>": "<value>", ...}}
//
// e.g. `kubectl --server https://<cloudcore>:10002 create --raw <that path> -f call.json`. The caller is
// authenticated (TokenReview) and authorized (SubjectAccessReview: create devices/methods) before the body
// is read; the answer is the mapper's result (200), or a metav1.Status naming what failed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEVICES_API_VERSION, DEVICES_GROUP, DEVICES_VERSION } from '@kedge/device-api';
import { StatusError, badRequest, isStatusError, methodNotAllowed, pathNotFound, requestEntityTooLarge, type Status } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import { Counter, type Registry } from 'prom-client';
import type { MethodAuth } from './method-auth';
import type { DeviceMethodInvoker } from './method-invoker';

export const DEVICE_METHOD_PATH_PREFIX = `/apis/${DEVICES_GROUP}/`;
const PATH = new RegExp(`^/apis/${DEVICES_GROUP.replaceAll('.', '\\.')}/${DEVICES_VERSION}/namespaces/([^/]+)/devices/([^/]+)/methods/([^/]+)$`);
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const METHOD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_BODY_BYTES = 64 * 1024;

export interface DeviceMethodApiOptions {
  invoker: DeviceMethodInvoker;
  auth: MethodAuth;
  logger: Logger;
  registry: Registry;
}

export class DeviceMethodApi {
  private readonly calls: Counter<'code'>;

  constructor(private readonly options: DeviceMethodApiOptions) {
    this.calls = new Counter({ name: 'kedge_devicecontroller_method_calls_total', help: 'Device methods invoked through the cloud API, by HTTP code answered', labelNames: ['code'], registers: [options.registry] });
  }

  /** Whether this API serves `path` (everything under /apis/devices.kubeedge.io/). */
  serves(path: string): boolean {
    return path.startsWith(DEVICE_METHOD_PATH_PREFIX);
  }

  /** Answers one request; never throws. */
  async handle(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    let code = 500;
    try {
      const body = await this.serve(request, path);
      code = 200;
      send(response, 200, body);
    } catch (error) {
      const status = isStatusError(error) ? error : new StatusError(500, 'InternalError', 'the device method failed in cloudcore; see its log');
      if (!isStatusError(error)) this.options.logger.error({ error: (error as Error).message, path }, 'device method API failed');
      code = status.code;
      if (code === 401 || code === 403) this.options.logger.warn({ path, remoteAddress: request.socket.remoteAddress, code }, status.message);
      send(response, code, status.toStatus());
    } finally {
      this.calls.inc({ code: String(code) });
    }
  }

  close(): void {
    this.options.registry.removeSingleMetric('kedge_devicecontroller_method_calls_total');
  }

  private async serve(request: IncomingMessage, path: string): Promise<unknown> {
    const match = PATH.exec(path);
    if (match === null) throw pathNotFound(path.slice(0, 200));
    const [namespace, device, method] = match.slice(1).map((segment) => decodeSegment(segment ?? ''));
    if (namespace === undefined || !DNS_NAME.test(namespace)) throw badRequest(`namespace ${JSON.stringify(namespace?.slice(0, 64))} is not a valid namespace name`, [{ field: 'metadata.namespace' }]);
    if (device === undefined || !DNS_NAME.test(device)) throw badRequest(`device ${JSON.stringify(device?.slice(0, 64))} is not a valid object name`, [{ field: 'metadata.name' }]);
    if (method === undefined || !METHOD_NAME.test(method)) throw badRequest(`method ${JSON.stringify(method?.slice(0, 64))} is not a valid method name`, [{ field: 'spec.methods[].name' }]);
    if (request.method !== 'POST') throw methodNotAllowed(request.method ?? '', 'devices/methods; use POST');
    // who, and may they, before a byte of the body is read
    const caller = await this.options.auth.authenticate(request);
    await this.options.auth.authorize(caller, { namespace, device });
    const values = readValues(await readBody(request));
    this.options.logger.info({ user: caller.name, device: `${namespace}/${device}`, method, properties: Object.keys(values) }, 'device method invoked');
    const { node, result } = await this.options.invoker.invoke({ namespace, device, method, values });
    if (result.code === 200) return { kind: 'DeviceMethodResult', apiVersion: DEVICES_API_VERSION, namespace, device, node, ...result };
    // the mapper refused or failed: a Status naming each property that failed (500 from the mapper: the device's write failed)
    const causes = Object.entries(result.results)
      .filter(([, r]) => r.error !== undefined)
      .map(([property, r]) => ({ field: `values.${property}`, message: r.error ?? '', reason: r.code ?? 'WriteFailed' }));
    const code = result.code === 500 ? 502 : result.code;
    const reason = result.reason ?? causes.map((c) => `${c.field}: ${c.message}`).join('; ');
    throw new StatusError(code, statusReason(code), `device ${namespace}/${device} method ${method} on node ${node}: ${reason || `mapper answered ${result.code}`}`, { name: device, group: DEVICES_GROUP, kind: 'devices', causes });
  }
}

function statusReason(code: number): Status['reason'] & string {
  if (code === 400) return 'BadRequest';
  if (code === 404) return 'NotFound';
  if (code === 503) return 'ServiceUnavailable';
  if (code === 504) return 'Timeout';
  return 'InternalError';
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(requestEntityTooLarge(MAX_BODY_BYTES));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.once('error', reject);
  });
}

/** `{"values": {"<prop>": "<value>"}}`; numbers and booleans are taken as their text. */
function readValues(text: string): Record<string, string> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badRequest('the body is not JSON; send {"values": {"<property>": "<value>"}}', [{ field: 'body' }]);
  }
  const values = (body as { values?: unknown } | null)?.values;
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw badRequest('values: expected an object of property values, e.g. {"values": {"setpoint": "42"}}', [{ field: 'values' }]);
  const out: Record<string, string> = {};
  for (const [property, value] of Object.entries(values)) {
    if (typeof value === 'string') out[property] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') out[property] = String(value);
    else throw badRequest(`values.${property.slice(0, 64)}: expected a string, number or boolean`, [{ field: `values.${property.slice(0, 64)}` }]);
  }
  return out;
}

function send(response: ServerResponse, code: number, body: unknown): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(response.req.complete ? {} : { Connection: 'close' }) });
  response.end(text);
}
