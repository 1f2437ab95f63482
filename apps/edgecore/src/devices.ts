// Devices on the edge: the EventBus (embedded MQTT broker and/or an external broker), the DeviceTwin
// on top of it, and the MapperManager that runs built-in mappers for its member devices. The twin's
// reports go through MetaManager's durable outbox (group `twin`, resource `<ns>/twin/<name>`), so they
// survive restarts and offline periods. Loaded by edgecore only when eventBus.enable is on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceManager } from '@kedge/dmi';
import { DeviceMethodRelay, DeviceTwin, TwinStore } from '@kedge/devicetwin';
import type { EdgeHub } from '@kedge/edgehub';
import { EventBus, type EventBusOptions, type ExternalBrokerOptions, type InternalBrokerOptions } from '@kedge/eventbus';
import { MapperManager, MapperMetrics } from '@kedge/mappers';
import type { MetaManager } from '@kedge/metamanager';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';

export interface RunningDevices {
  /** the embedded broker's real port (when it runs) */
  mqttPort: number | undefined;
  stop(): Promise<void>;
}

export async function startDevices(
  config: EdgeCoreConfig,
  deps: { router: MessageRouter; hub: EdgeHub; metaManager: MetaManager; logger: Logger; registry: Registry },
): Promise<RunningDevices> {
  const { router, hub, metaManager, logger, registry } = deps;
  const { eventBus: busConfig } = config;
  const options: EventBusOptions = {
    mode: busConfig.mode,
    nodeName: config.nodeName,
    internal: internalBrokerOptions(busConfig.internal),
    send: (message) => hub.send(message),
    router,
    logger: logger.child({ module: 'eventbus' }),
    registry,
  };
  if (busConfig.external !== undefined) options.external = externalBrokerOptions(busConfig.external);
  const bus = new EventBus(options);
  await bus.start();

  let twin: DeviceTwin | undefined;
  let store: TwinStore | undefined;
  let unsubscribe: (() => void) | undefined;
  let mappers: MapperManager | undefined;
  let dmi: DeviceManager | undefined;
  let methodRelay: DeviceMethodRelay | undefined;
  if (config.deviceTwin.enable) {
    const twinStore = new TwinStore({ file: join(config.dataDir, 'devicetwin.db'), registry });
    store = twinStore;
    const deviceTwin = new DeviceTwin({
      store,
      bus,
      router,
      reporter: metaManager,
      answer: (message) => hub.send(message),
      nodeName: config.nodeName,
      logger: logger.child({ module: 'devicetwin' }),
      registry,
    });
    twin = deviceTwin;
    if (config.deviceTwin.dmiEnable) dmi = await startDmi(config, deviceTwin, logger, registry);
    // device methods invoked from the cloud go to the mapper over the bus, like an application's call
    methodRelay = new DeviceMethodRelay({ router, bus, send: (message) => hub.send(message), isMember: (id) => twinStore.device(id) !== undefined, logger: logger.child({ module: 'devicetwin' }), registry });
    if (config.mappers.enable) {
      // the mappers' own account on the bus: report and read deltas, never publish one
      const { url: brokerUrl, ...brokerOptions } = bus.localClientOptions();
      mappers = new MapperManager({ twin: deviceTwin, brokerUrl, brokerOptions, file: join(config.dataDir, 'mappers.json'), nodeName: config.nodeName, logger: logger.child({ module: 'mappers' }), metrics: new MapperMetrics(registry), ...(dmi ? { external: dmi } : {}) });
      mappers.start();
    }
    // the outbox keeps the latest report per device; a reconnect re-reports them all anyway
    unsubscribe = hub.onConnectionChange((connected) => {
      if (connected) deviceTwin.reportAll();
    });
  }
  return {
    mqttPort: bus.internalAddress?.port,
    async stop() {
      unsubscribe?.();
      methodRelay?.close();
      await mappers?.stop();
      await dmi?.stop();
      twin?.stop();
      await bus.stop();
      store?.close();
    },
  };
}

/**
 * DMI for mappers outside edgecore (KubeEdge's mapper-framework, `@kedge/mappers` over DMI). A socket that
 * cannot be bound (unsafe path, in use) is logged and edgecore runs on without it: the built-in mappers
 * and the MQTT API do not depend on it.
 */
async function startDmi(config: EdgeCoreConfig, twin: DeviceTwin, logger: Logger, registry: Registry): Promise<DeviceManager | undefined> {
  const socketPath = config.deviceTwin.dmiSockPath ?? join(config.dataDir, 'dmi.sock');
  const dmi = new DeviceManager({
    twin,
    socketPath,
    socketMode: config.deviceTwin.dmiSockGroupAccess ? 0o660 : 0o600,
    stateFile: join(config.dataDir, 'dmi.json'),
    logger: logger.child({ module: 'dmi' }),
    registry,
  });
  try {
    await dmi.start();
    return dmi;
  } catch (error) {
    logger.error({ error: (error as Error).message, socket: socketPath }, 'DMI is not available: cannot listen on its socket (deviceTwin.dmiSockPath)');
    await dmi.stop().catch(() => undefined);
    return undefined;
  }
}

/** Reads a secret file (password, key): trailing newlines dropped; the error names the config field, never the content. */
function readSecretFile(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new Error(`${field}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); create it (mode 0600) or fix the path in edgecore.yaml`);
  }
}

function internalBrokerOptions(internal: EdgeCoreConfig['eventBus']['internal']): InternalBrokerOptions {
  return {
    host: internal.address,
    port: internal.port,
    anonymous: internal.anonymous.enable ? { publish: internal.anonymous.publish, subscribe: internal.anonymous.subscribe } : false,
    users: internal.users.map((user, index) => ({
      username: user.username,
      password: readSecretFile(user.passwordFile, `eventBus.internal.users[${index}].passwordFile`),
      publish: user.publish,
      subscribe: user.subscribe,
    })),
    ...(internal.tls === undefined
      ? {}
      : {
          tls: {
            cert: readSecretFile(internal.tls.certFile, 'eventBus.internal.tls.certFile'),
            key: readSecretFile(internal.tls.keyFile, 'eventBus.internal.tls.keyFile'),
            ...(internal.tls.caFile === undefined ? {} : { ca: readSecretFile(internal.tls.caFile, 'eventBus.internal.tls.caFile') }),
            requireClientCert: internal.tls.requireClientCert,
          },
        }),
  };
}

function externalBrokerOptions(external: NonNullable<EdgeCoreConfig['eventBus']['external']>): ExternalBrokerOptions {
  const tls = external.tls;
  return {
    url: external.url,
    ...(external.username === undefined ? {} : { username: external.username }),
    ...(external.passwordFile === undefined ? {} : { password: readSecretFile(external.passwordFile, 'eventBus.external.passwordFile') }),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ...(tls.caFile === undefined ? {} : { ca: readSecretFile(tls.caFile, 'eventBus.external.tls.caFile') }),
            ...(tls.certFile === undefined ? {} : { cert: readSecretFile(tls.certFile, 'eventBus.external.tls.certFile') }),
            ...(tls.keyFile === undefined ? {} : { key: readSecretFile(tls.keyFile, 'eventBus.external.tls.keyFile') }),
          },
        }),
  };
}
