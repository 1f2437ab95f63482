#!/usr/bin/env node
// edgecore command line: load and validate the config, join on first start, run until a signal.
import { Command } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, loadConfigFile, parseConfigText } from '@kedge/config';
import { ModuleStartError } from '@kedge/modules';
import { createLogger } from '@kedge/telemetry';
import { edgeCoreConfigSchema, type EdgeCoreConfig } from '@kedge/edgecore-config';
import { startEdgeCore } from './edgecore';

const program = new Command()
  .name('edgecore')
  .description(
    'The edge side of kedge, for gateways: dials cloudcore over WebSocket or QUIC with mutual TLS, keeps the link\n' +
      'alive with heartbeats and reconnects with jittered backoff when the network drops.',
  )
  .option('-c, --config <file>', 'YAML config file (nodeName at least; see docs/configuration.md)')
  .option('--token <token>', 'join token from `kedgeadm token`, needed on the first start only (or set KEDGE_JOIN_TOKEN)')
  .option('--log-level <level>', 'trace | debug | info | warn | error (overrides log.level)')
  .option('--print-default-config', 'print the full default config as YAML and exit')
  .addHelpText(
    'after',
    `
Examples:
  edgecore --config /etc/kedge/edgecore.yaml --token "$(ssh cloud kedgeadm token --node gateway-01)"
  edgecore --config /etc/kedge/edgecore.yaml          # later starts: the certificate is already in dataDir/pki

Minimal config:
  nodeName: gateway-01
  edgeHub:
    server: cloud.example.com:10000
    httpServer: https://cloud.example.com:10002`,
  );

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<{ config?: string; token?: string; logLevel?: string; printDefaultConfig?: boolean }>();
  if (options.printDefaultConfig) {
    process.stdout.write(stringify(parseConfigText('nodeName: gateway-01', edgeCoreConfigSchema, 'defaults')));
    return;
  }
  if (!options.config) {
    process.stderr.write('edgecore: --config <file> is required; `edgecore --print-default-config` prints a starting point\n');
    process.exit(2);
  }
  let config: EdgeCoreConfig;
  try {
    const fromFile = loadConfigFile(options.config, edgeCoreConfigSchema);
    config = options.logLevel
      ? parseConfigText(JSON.stringify({ ...fromFile, log: { level: options.logLevel } }), edgeCoreConfigSchema, `${options.config} + flags`)
      : fromFile;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`edgecore: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ name: 'edgecore', level: config.log.level as 'info' });
  const token = options.token ?? process.env.KEDGE_JOIN_TOKEN ?? config.edgeHub.token;
  let edgecore: Awaited<ReturnType<typeof startEdgeCore>>;
  try {
    edgecore = await startEdgeCore(config, token, logger);
  } catch (error) {
    // the runner has logged the module and stopped the ones started before it
    const cause = error instanceof ModuleStartError ? error.cause : (error as Error);
    logger.fatal(
      { ...(error instanceof ModuleStartError ? { module: error.module } : {}), error: cause.message, code: (cause as { code?: string }).code },
      'edgecore could not start',
    );
    // let pino flush before exiting
    setImmediate(() => process.exit(1));
    return;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping edgecore');
    edgecore.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

void main();
