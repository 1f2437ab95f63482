// DeviceMethodInvoker: invokes a Device's method (spec.methods, KubeEdge 1.19) from the cloud. It checks
// the call against the Device and its model first (unknown method or property, a ReadOnly property: 4xx
// naming it), refuses at once when the device's node has no hub session (503), then sends the call down
// the node's session and waits for the mapper's result relayed by the edge (504 after the timeout).
import {
  DEVICE_METHOD_GROUP,
  DEVICE_METHOD_OPERATION,
  DEVICE_METHOD_TYPE,
  DEVICES_GROUP,
  readDeviceMethodResult,
  type Device,
  type DeviceMethodCall,
  type DeviceMethodResult,
  type DeviceModel,
} from '@kedge/device-api';
import { StatusError, badRequest, notFound, serviceUnavailable } from '@kedge/kube-core';
import { formatCloudResource, newMessage, parseCloudResource, type Message } from '@kedge/protocol';
import { RemoteError, RequestTimeoutError, type MessageRouter } from '@kedge/router';

export const METHOD_INVOKER_SOURCE = 'devicecontroller';
const DEVICES = { group: DEVICES_GROUP, resource: 'devices' };

/** What the invoker reads of the controller's caches. */
export interface DeviceLookup {
  device(namespace: string, name: string): Device | undefined;
  model(namespace: string, name: string): DeviceModel | undefined;
}

export interface MethodInvokerHub {
  sendToNode(message: Message): Promise<void>;
  isConnected(nodeName: string): boolean;
}

export interface DeviceMethodInvokerOptions {
  lookup: DeviceLookup;
  hub: MethodInvokerHub;
  router: MessageRouter;
  /** how long the edge waits for the mapper (default 10 s); the cloud waits 2 s more for the relay */
  timeoutMs?: number;
}

export interface MethodInvocation {
  namespace: string;
  device: string;
  method: string;
  values: Record<string, string>;
}

/** The answer: the device's node and the mapper's result (its `code` says whether every write succeeded). */
export interface MethodOutcome {
  node: string;
  result: DeviceMethodResult;
}

export class DeviceMethodInvoker {
  private readonly timeoutMs: number;

  constructor(private readonly options: DeviceMethodInvokerOptions) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** @throws StatusError naming the device, method or property (400, 404, 422, 502, 503, 504) */
  async invoke(call: MethodInvocation): Promise<MethodOutcome> {
    const { namespace, device: name, method, values } = call;
    const id = `${namespace}/${name}`;
    const device = this.options.lookup.device(namespace, name);
    if (device === undefined) throw notFound(DEVICES, name);
    const declared = device.spec?.methods?.find((m) => m.name === method);
    if (declared === undefined) {
      const known = (device.spec?.methods ?? []).map((m) => m.name);
      throw new StatusError(404, 'NotFound', `device ${id} has no method "${method}" (spec.methods: ${known.length === 0 ? 'none' : known.join(', ')})`, { name, group: DEVICES_GROUP, kind: 'devices', causes: [{ field: 'spec.methods', message: `no method "${method}"` }] });
    }
    const entries = Object.entries(values);
    if (entries.length === 0) throw badRequest(`device ${id} method ${method}: values must name at least one of ${(declared.propertyNames ?? []).join(', ')}`, [{ field: 'values', message: 'empty' }]);
    const modelName = device.spec?.deviceModelRef?.name ?? '';
    const model = this.options.lookup.model(namespace, modelName);
    for (const [property] of entries) {
      if (!(declared.propertyNames ?? []).includes(property)) {
        throw badRequest(`device ${id} method ${method}: values.${property}: not one of the method's propertyNames (${(declared.propertyNames ?? []).join(', ')})`, [{ field: `values.${property}`, message: 'not a property of the method' }]);
      }
      const modelProperty = model?.spec?.properties?.find((p) => p.name === property);
      if (model !== undefined && modelProperty === undefined) throw badRequest(`device ${id} method ${method}: values.${property}: DeviceModel ${namespace}/${modelName} has no such property`, [{ field: `values.${property}`, message: 'not in the model' }]);
      if (modelProperty !== undefined && modelProperty.accessMode !== 'ReadWrite') throw badRequest(`device ${id} method ${method}: values.${property}: the property is ${modelProperty.accessMode ?? 'ReadOnly'} in DeviceModel ${namespace}/${modelName}`, [{ field: `values.${property}`, message: 'not writable' }]);
    }
    const node = device.spec?.nodeName ?? '';
    if (node === '') throw new StatusError(409, 'Conflict', `device ${id} has no spec.nodeName: no edge node runs its mapper`, { name, group: DEVICES_GROUP, kind: 'devices' });
    if (!this.options.hub.isConnected(node)) throw serviceUnavailable(`node ${node} of device ${id} is not connected to this cloudcore (offline); method ${method} was not invoked`);

    const content: DeviceMethodCall = { method, values, timeoutMs: this.timeoutMs };
    const request = newMessage({ source: METHOD_INVOKER_SOURCE, group: DEVICE_METHOD_GROUP, operation: DEVICE_METHOD_OPERATION, resource: formatCloudResource({ node, namespace, type: DEVICE_METHOD_TYPE, name }), content });
    let reply: Message;
    try {
      reply = await this.options.router.request(request, { timeoutMs: this.timeoutMs + 2_000, send: (m) => this.options.hub.sendToNode(m) });
    } catch (error) {
      if (error instanceof RequestTimeoutError) throw new StatusError(504, 'Timeout', `node ${node} did not answer method ${method} of device ${id} within ${this.timeoutMs + 2_000} ms`, undefined, { cause: error });
      if (error instanceof RemoteError) {
        const reason = String(error.content).slice(0, 500);
        // the relay's own timeout: no mapper answered on the edge
        const code = reason.includes('no mapper answered') ? 504 : 502;
        throw new StatusError(code, code === 504 ? 'Timeout' : 'InternalError', `node ${node}: ${reason}`, undefined, { cause: error });
      }
      throw serviceUnavailable(`node ${node} of device ${id}: ${(error as Error).message}`);
    }
    // the answer must come from the device's node (router replies match on msg_id alone)
    let from: string | undefined;
    try {
      from = parseCloudResource(reply.route.resource).node;
    } catch {
      from = undefined;
    }
    if (from !== node) throw new StatusError(502, 'InternalError', `method ${method} of device ${id}: the answer came from ${from ?? 'an unknown resource'}, not node ${node}`);
    try {
      return { node, result: readDeviceMethodResult(reply.content) };
    } catch (error) {
      throw new StatusError(502, 'InternalError', `node ${node} answered method ${method} of device ${id} with an invalid result: ${(error as Error).message}`);
    }
  }
}
