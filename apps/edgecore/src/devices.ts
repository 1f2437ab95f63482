// Devices on the edge: the EventBus (embedded MQTT broker and/or an external broker), the DeviceTwin
// on top of it, and the MapperManager that runs built-in mappers for its member devices. The twin's
// reports go through MetaManager's durable outbox (group `twin`, resource `<ns>/twin/<name>`), so they
// survive restarts and offline periods.
import { join } from 'node:path';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import type { EdgeHub } from '@kedge/edgehub';
import { EventBus, type EventBusOptions } from '@kedge/eventbus';
import { MapperManager } from '@kedge/mappers';
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
  if (!busConfig.enable) return { mqttPort: undefined, stop: async () => undefined };
  const options: EventBusOptions = {
    mode: busConfig.mode,
    nodeName: config.nodeName,
    internal: { host: busConfig.internal.address, port: busConfig.internal.port },
    send: (message) => hub.send(message),
    router,
    logger: logger.child({ module: 'eventbus' }),
    registry,
  };
  if (busConfig.external !== undefined) options.external = { url: busConfig.external.url };
  const bus = new EventBus(options);
  await bus.start();

  let twin: DeviceTwin | undefined;
  let store: TwinStore | undefined;
  let unsubscribe: (() => void) | undefined;
  let mappers: MapperManager | undefined;
  if (config.deviceTwin.enable) {
    const twinStore = new TwinStore({ file: join(config.dataDir, 'devicetwin.db') });
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
    const brokerUrl = busConfig.mode === 'external' ? busConfig.external?.url : `mqtt://${hostOf(busConfig.internal.address)}:${bus.internalAddress?.port ?? busConfig.internal.port}`;
    if (config.mappers.enable && brokerUrl !== undefined) {
      mappers = new MapperManager({ twin: deviceTwin, brokerUrl, file: join(config.dataDir, 'mappers.json'), nodeName: config.nodeName, logger: logger.child({ module: 'mappers' }) });
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
      await mappers?.stop();
      twin?.stop();
      await bus.stop();
      store?.close();
    },
  };
}

const hostOf = (address: string): string => (address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address);
