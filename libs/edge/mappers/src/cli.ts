// Standalone mapper: `tsx libs/edge/mappers/src/cli.ts --broker mqtt://127.0.0.1:1883 --config devices.yaml`.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { parseMapperConfig } from './config';
import { MapperHost } from './host';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { broker: { type: 'string', default: 'mqtt://127.0.0.1:1883' }, config: { type: 'string' } } });
  if (!values.config) {
    console.error('usage: cli.ts --broker mqtt://host:1883 --config devices.yaml');
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
