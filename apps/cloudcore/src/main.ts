#!/usr/bin/env node
// cloudcore command line: parse flags, load and validate the config, start, stop cleanly on signals.
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, loadConfigFile, parseConfigText } from '@kedge/config';
import { ModuleStartError } from '@kedge/modules';
import { createLogger } from '@kedge/telemetry';
import { cloudCoreConfigSchema, type CloudCoreConfig } from '@kedge/cloudcore-config';
import { startCloudCore } from './cloudcore';

const program = new Command()
  .name('cloudcore')
  .description(
    'The cloud side of kedge: holds the connections of edge nodes (CloudHub over WebSocket and QUIC, mTLS),\n' +
      'issues their certificates against join tokens, and moves messages between them and the cloud modules.',
  )
  .option('-c, --config <file>', 'YAML config file; without it every default applies (see docs/configuration.md)')
  .option('--data-dir <dir>', 'state dir: the embedded API server, and with pki.store file the CA and token ledger (overrides dataDir)')
  .option('--log-level <level>', 'trace | debug | info | warn | error (overrides log.level)')
  .option('--print-default-config', 'print the full default config as YAML and exit')
  .addHelpText(
    'after',
    `
Examples:
  cloudcore --config /etc/kedge/cloudcore.yaml
  cloudcore --print-default-config > /etc/kedge/cloudcore.yaml
  kedgeadm token --data-dir /var/lib/kedge/cloudcore      # then join a gateway with that token
  kedgeadm token --kubeconfig ~/.kube/config              # the same, when cloudcore keeps its CA in a Secret

Ports (defaults): 10000 WebSocket hub, 10001/udp QUIC hub (off by default), 10002 HTTPS certificates,
9091 metrics and health on 127.0.0.1 (/metrics, /healthz, /readyz, /debug/nodes).`,
  );

interface CliOptions {
  config?: string;
  dataDir?: string;
  logLevel?: string;
  printDefaultConfig?: boolean;
}

function resolveConfig(options: CliOptions): CloudCoreConfig {
  const base = options.config ? loadConfigFile(options.config, cloudCoreConfigSchema) : parseConfigText('{}', cloudCoreConfigSchema, 'defaults');
  const overridden = {
    ...base,
    dataDir: options.dataDir ?? base.dataDir,
    log: { level: options.logLevel ?? base.log.level },
  };
  // flags go through the same schema as the file, so a bad --log-level gets the same clear error
  return parseConfigText(JSON.stringify(overridden), cloudCoreConfigSchema, options.config ? `${options.config} + flags` : 'flags');
}

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<CliOptions>();
  if (options.printDefaultConfig) {
    process.stdout.write(stringify(parseConfigText('{}', cloudCoreConfigSchema, 'defaults')));
    return;
  }
  let config: CloudCoreConfig;
  try {
    config = resolveConfig(options);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof InvalidArgumentError) {
      process.stderr.write(`cloudcore: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ name: 'cloudcore', level: config.log.level as 'info' });
  let cloudcore: Awaited<ReturnType<typeof startCloudCore>>;
  try {
    cloudcore = await startCloudCore(config, logger);
  } catch (error) {
    // the runner has logged the module and stopped the ones started before it
    const failed = error instanceof ModuleStartError ? { module: error.module, error: error.cause.message } : { error: (error as Error).message };
    logger.fatal(failed, 'cloudcore could not start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping cloudcore');
    cloudcore.stop().then(
      () => {
        logger.info('cloudcore stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ error: (error as Error).message }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
