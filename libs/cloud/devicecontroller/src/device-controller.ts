// startDeviceController: the cloud side of devices (KubeEdge's DeviceController). It installs the
// device CRDs, watches Devices and DeviceModels, and keeps each connected node's devicetwin in step:
//
// - Down: every change (and every node connect) sends the node's FULL membership
//   (`update node/<n>/null/membership/<n>`, group `twin`), never single-device messages. A whole
//   list is idempotent on the edge, covers binds, unbinds, moves, model and desired changes alike,
//   and repairs anything missed while the node was away. Changes are coalesced per node. There is
//   no resend queue: a node that misses a list gets the next one, at the latest on reconnect.
// - Up: `update node/<n>/<ns>/twin/<name>` (the device's whole reported state) is merged into the
//   Device's DeviceStatus object (and mirrored into Device.status), if the device is bound to that node.
import { DEVICES_GROUP, DEVICES_VERSION, type Device, type DeviceModel } from '@kedge/device-api';
import { ManagedInformer, errorMessage, type InformerEvent } from '@kedge/kube-client';
import { Group, Operation, newErrorResponse, newMessage, newResponse, parseCloudResource, type Message } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { installCrds } from './crds';
import { TwinRefusedError } from './errors';
import { membershipOf, versionOf } from './membership';
import type { DeviceLookup } from './method-api/method-invoker';
import { DeviceStatusWriter, statusFromReport } from './upstream';

export const DEVICECONTROLLER_SOURCE = 'devicecontroller';

/** The part of CloudHub the controller uses. */
export interface DeviceControllerHub {
  sendToNode(message: Message): Promise<void>;
  onNodeConnection(observer: (event: { type: 'connected' | 'disconnected'; nodeName: string }) => void): () => unknown;
}

export interface StartDeviceControllerParams {
  kubeConfig: KubeConfig;
  hub: DeviceControllerHub;
  router: MessageRouter;
  logger: Logger;
  registry: Registry;
  /** install the CRDs if missing (default true) */
  installCrds?: boolean;
  /**
   * Also write edge reports into Device.status, as KubeEdge <= 1.22 did (default true). DeviceStatus is
   * always written; turn this off (cloudcore config `deviceController.mirrorDeviceStatus: false`) once no client reads Device.status.
   */
  mirrorDeviceStatus?: boolean;
}

export interface DeviceController {
  /** resolves once the CRDs are established and both informers have listed */
  ready: Promise<void>;
  /** the Devices and DeviceModels as the informers hold them (device methods check calls against them) */
  lookup: DeviceLookup;
  close(): Promise<void>;
}

export function startDeviceController(params: StartDeviceControllerParams): DeviceController {
  const { kubeConfig, hub, router, registry } = params;
  const logger = params.logger.child({ module: 'devicecontroller' });
  const sent = new Counter({ name: 'kedge_devicecontroller_memberships_sent_total', help: 'Membership lists sent to nodes', registers: [registry] });
  const reports = new Counter({ name: 'kedge_devicecontroller_twin_reports_total', help: 'Twin reports from edges, by result', labelNames: ['result'], registers: [registry] });

  const writer = new DeviceStatusWriter(kubeConfig, { mirrorToDevice: params.mirrorDeviceStatus ?? true });
  const connected = new Set<string>();
  const dirty = new Set<string>();
  /** device key → node it was last seen bound to, so a move also updates the old node */
  const boundTo = new Map<string, string>();
  let listVersion = 0n;
  let isReady = false;
  let closed = false;
  let flushScheduled = false;

  const key = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const seen = (o: { metadata?: { resourceVersion?: string } }) => {
    const v = versionOf(o);
    if (v > listVersion) listVersion = v;
  };
  const markDirty = (node: string | undefined) => {
    if (node === undefined || node === '') return;
    dirty.add(node);
    if (flushScheduled || !isReady) return;
    flushScheduled = true;
    setImmediate(() => {
      flushScheduled = false;
      flush();
    });
  };

  const onDevice = (event: InformerEvent, device: Device) => {
    seen(device);
    const k = key(device);
    markDirty(boundTo.get(k));
    if (event === 'delete') {
      boundTo.delete(k);
      writer.remove(device.metadata?.namespace ?? 'default', device.metadata?.name ?? '').catch((error: unknown) => logger.warn({ device: k, error: errorMessage(error) }, 'DeviceStatus not removed'));
    }
    else {
      const node = device.spec?.nodeName;
      if (node) boundTo.set(k, node);
      else boundTo.delete(k);
      markDirty(node);
    }
  };
  const onModel = (_event: InformerEvent, model: DeviceModel) => {
    seen(model);
    for (const device of informers.devices.cache.list()) {
      if (device.metadata?.namespace === model.metadata?.namespace && device.spec?.deviceModelRef?.name === model.metadata?.name) markDirty(device.spec?.nodeName);
    }
  };
  const informer = <T extends Device | DeviceModel>(plural: string, onEvent: (event: InformerEvent, object: T) => void) =>
    new ManagedInformer<T>({ kubeConfig, resource: plural, path: `/apis/${DEVICES_GROUP}/${DEVICES_VERSION}/${plural}`, logger, onEvent });
  const informers = {
    devices: informer<Device>('devices', onDevice),
    models: informer<DeviceModel>('devicemodels', onModel),
  };

  const sendMembership = (node: string) => {
    const content = membershipOf(node, { devices: informers.devices.cache, models: informers.models.cache }, listVersion);
    const message = newMessage({ source: DEVICECONTROLLER_SOURCE, group: Group.Twin, operation: Operation.Update, resource: `node/${node}/null/membership/${node}`, content });
    sent.inc();
    hub.sendToNode(message).catch((error: unknown) => logger.debug({ node, error: errorMessage(error) }, 'membership not sent'));
  };
  const flush = () => {
    if (closed) return;
    for (const node of dirty) if (connected.has(node)) sendMembership(node);
    dirty.clear();
  };

  const unsubscribe = hub.onNodeConnection((event) => {
    if (event.type === 'connected') {
      connected.add(event.nodeName);
      markDirty(event.nodeName);
    } else connected.delete(event.nodeName);
  });

  const handleReport = async (message: Message): Promise<Message> => {
    let target;
    try {
      target = parseCloudResource(message.route.resource);
    } catch (error) {
      throw new TwinRefusedError('invalid', `resource: ${errorMessage(error)}`);
    }
    if (message.route.operation !== Operation.Update || target.type !== 'twin' || target.name === undefined) {
      throw new TwinRefusedError('unsupported', `${message.route.operation} ${target.type} is not handled`);
    }
    const device = informers.devices.cache.get(target.name, target.namespace);
    if (device === undefined) throw new TwinRefusedError('not-found', `device ${target.namespace}/${target.name} not found`);
    if (device.spec?.nodeName !== target.node) throw new TwinRefusedError('not-bound', `device ${target.namespace}/${target.name} is not bound to node ${target.node}`);
    await writer.write(device, statusFromReport(device, message.content));
    return newResponse(message, 'OK', DEVICECONTROLLER_SOURCE);
  };

  const unregister = router.register(Group.Twin, async (message: Message) => {
    const { operation } = message.route;
    if (operation === Operation.Response || operation === Operation.Error) {
      if (operation === Operation.Error) logger.warn({ resource: message.route.resource, reason: message.content }, 'edge refused a device message');
      return;
    }
    let reply: Message;
    try {
      reply = await handleReport(message);
      reports.inc({ result: 'ok' });
    } catch (error) {
      const reason = error instanceof TwinRefusedError ? `${error.reason}: ${error.message}` : `failed: ${errorMessage(error)}`;
      reports.inc({ result: error instanceof TwinRefusedError ? error.reason : 'failed' });
      logger.warn({ resource: message.route.resource, reason }, 'twin report not applied');
      reply = newErrorResponse(message, reason, DEVICECONTROLLER_SOURCE);
    }
    await hub.sendToNode(reply).catch((error: unknown) => logger.debug({ error: errorMessage(error) }, 'twin answer not sent'));
  });

  const ready = (async () => {
    if (params.installCrds ?? true) await installCrds(kubeConfig, logger);
    if (closed) return;
    await Promise.all([informers.models.start(), informers.devices.start()]);
    if (closed) return;
    isReady = true;
    logger.info('device controller caches synced');
    flush();
  })();
  ready.catch((error: unknown) => logger.error({ error: errorMessage(error) }, 'device controller failed to start'));

  return {
    ready,
    lookup: {
      device: (namespace, name) => informers.devices.cache.get(name, namespace),
      model: (namespace, name) => informers.models.cache.get(name, namespace),
    },
    async close() {
      if (closed) return;
      closed = true;
      unregister();
      unsubscribe();
      await Promise.allSettled([informers.devices.stop(), informers.models.stop()]);
      registry.removeSingleMetric('kedge_devicecontroller_memberships_sent_total');
      registry.removeSingleMetric('kedge_devicecontroller_twin_reports_total');
    },
  };
}
