// Devices on the edge: the EventBus (embedded MQTT broker and/or an external broker) and the
// DeviceTwin on top of it. The twin's reports go through MetaManager's durable outbox (group `twin`,
// resource `<ns>/twin/<name>`), so they survive restarts and offline periods.
import { join } from 'node:path';
import { DeviceTwin, TwinStore } from '@kedge/devicetwin';
import type { EdgeHub } from '@kedge/edgehub';
import { EventBus, type EventBusOptions } from '@kedge/eventbus';
import type { MetaManager } from '@kedge/metamanager';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import type { EdgeCoreConfig } from './config/edgecore-config';

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
  if (config.deviceTwin.enable) {
    store = new TwinStore({ file: join(config.dataDir, 'devicetwin.db') });
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
    // the outbox keeps the latest report per device; a reconnect re-reports them all anyway
    unsubscribe = hub.onConnectionChange((connected) => {
      if (connected) deviceTwin.reportAll();
    });
  }
  return {
    mqttPort: bus.internalAddress?.port,
    async stop() {
      unsubscribe?.();
      twin?.stop();
      await bus.stop();
      store?.close();
    },
  };
}
