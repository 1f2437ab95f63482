#!/usr/bin/env node
// edgecore command line: load and validate the config, join on first start, run until a signal. The config is
// read and validated by the start-up helper process (startup-helper.ts), so zod and the YAML parser never load here.
import { Command } from 'commander';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { ModuleStartError } from '@kedge/modules';
import { createLogger } from '@kedge/telemetry';
import { startEdgeCore } from './edgecore';
import { JoinTokenSourceError, assertNoTokenInArgv, joinTokenSource, readTokenFromStdin } from './join-token-source';
import { EdgeCoreConfigError, runStartupHelperSync } from './startup-helper';

const program = new Command()
  .name('edgecore')
  .description(
    'The edge side of kedge, for gateways: dials cloudcore over WebSocket or QUIC with mutual TLS, keeps the link\n' +
      'alive with heartbeats and reconnects with jittered backoff when the network drops.',
  )
  .option('-c, --config <file>', 'YAML config file (nodeName at least; see docs/configuration.md)')
  .option('--token-file <file>', 'file holding the join token from `kedgeadm token create` (root-readable only); read on the first start only')
  .option('--token <->', 'only "--token -": read the join token from stdin. A token on the command line is refused (ps shows it)')
  .option('--log-level <level>', 'trace | debug | info | warn | error (overrides log.level)')
  .option('--print-default-config', 'print the full default config as YAML and exit')
  .addHelpText(
    'after',
    `
Examples:
  edgecore --config /etc/kedge/edgecore.yaml --token-file /root/gateway-01.token   # first start
  ssh cloud kedgeadm token create --node gateway-01 | edgecore --config /etc/kedge/edgecore.yaml --token -
  edgecore --config /etc/kedge/edgecore.yaml          # later starts: the certificate is already in dataDir/pki

Minimal config:
  nodeName: gateway-01
  edgeHub:
    server: cloud.example.com:10000
    httpServer: https://cloud.example.com:10002`,
  );

async function main(): Promise<void> {
  program.parse();
  const options = program.opts<{ config?: string; token?: string; tokenFile?: string; logLevel?: string; printDefaultConfig?: boolean }>();
  try {
    assertNoTokenInArgv(options);
  } catch (error) {
    process.stderr.write(`edgecore: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (options.printDefaultConfig) {
    // in this process: it prints and exits, so what it loads does not stay (and it needs no second node)
    const { tasks } = await import('./startup-tasks');
    process.stdout.write(await tasks['default-config']({}));
    return;
  }
  if (!options.config) {
    process.stderr.write('edgecore: --config <file> is required; `edgecore --print-default-config` prints a starting point\n');
    process.exit(2);
  }
  let config: EdgeCoreConfig;
  try {
    config = runStartupHelperSync('load-config', { file: options.config, ...(options.logLevel ? { logLevel: options.logLevel } : {}) });
  } catch (error) {
    if (error instanceof EdgeCoreConfigError) {
      process.stderr.write(`edgecore: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ name: 'edgecore', level: config.log.level as 'info' });
  let stdinToken: string | undefined;
  try {
    if (options.token === '-') stdinToken = await readTokenFromStdin();
  } catch (error) {
    if (!(error instanceof JoinTokenSourceError)) throw error;
    process.stderr.write(`edgecore: ${error.message}\n`);
    process.exit(2);
  }
  const token = joinTokenSource(config, { ...(stdinToken === undefined ? {} : { stdinToken }), ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }) }, logger);
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
