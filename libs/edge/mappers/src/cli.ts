// Standalone mapper, two ways:
//   over MQTT: `tsx libs/edge/mappers/src/cli.ts --broker mqtt://127.0.0.1:1883 --config devices.yaml`
//   over DMI:  `tsx libs/edge/mappers/src/cli.ts --dmi-socket /var/lib/kedge/dmi.sock --socket /run/kedge/modbus-mapper.sock --protocol modbus`
//              (edgecore hands over the devices of that protocol; no config file)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '@kedge/telemetry';
import mqtt from 'mqtt';
import { parseMapperConfig } from './config';
import { DmiMapper } from './dmi/dmi-mapper';
import { MapperHost } from './host';

const USAGE = 'usage: cli.ts --broker mqtt://host:1883 --config devices.yaml\n       cli.ts --dmi-socket <edgecore dmi.sock> --socket <this mapper\'s socket> --protocol <modbus|opcua|bluetooth|virtual> [--name <mapper name>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      broker: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      config: { type: 'string' },
      'dmi-socket': { type: 'string' },
      socket: { type: 'string' },
      protocol: { type: 'string' },
      name: { type: 'string' },
    },
  });
  if (values['dmi-socket'] !== undefined) {
    if (!values.socket || !values.protocol) {
      console.error(`--dmi-socket needs --socket and --protocol\n${USAGE}`);
      process.exit(2);
    }
    const logger = createLogger({ name: 'kedge-mapper' });
    const mapper = new DmiMapper({ edgecoreSocket: values['dmi-socket'], socketPath: values.socket, protocol: values.protocol, ...(values.name ? { name: values.name } : {}), logger });
    await mapper.start();
    logger.info({ protocol: values.protocol, devices: mapper.running() }, 'DMI mapper registered');
    const shutdown = async (): Promise<void> => {
      await mapper.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void shutdown());
    process.once('SIGTERM', () => void shutdown());
    return;
  }
  if (!values.config) {
    console.error(USAGE);
    process.exit(2);
  }
  const config = parseMapperConfig(readFileSync(values.config, 'utf8'));
  const client = await mqtt.connectAsync(values.broker, { clientId: `kedge-mapper-${process.pid}` });
  const host = new MapperHost({
    mqtt: client,
    config,
    onError: (e) => console.error(`[mapper] ${e.message}`),
    onState: (id, state) => console.log(`[mapper] ${id} ${state}`),
  });
  await host.start();
  console.log(`[mapper] running ${host.runners.length} device(s) against ${values.broker}`);
  const shutdown = async (): Promise<void> => {
    await host.stop();
    await client.endAsync(true);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

main().catch((error: unknown) => {
  console.error(`[mapper] ${(error as Error).message}`);
  process.exit(1);
});
