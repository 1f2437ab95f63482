#!/usr/bin/env node
// kedgeadm: the admin command line for kedge clusters.
import { Command, CommanderError } from 'commander';
import { DurationFormatError } from './duration';
import { describeTokenBinding } from '@kedge/pki';
import {
  DEFAULT_TOKEN_TTL,
  KedgeadmUsageError,
  createTokenCommand,
  deleteTokenCommand,
  formatTokenTable,
  listTokensCommand,
  type TokenCommandOptions,
  type TokenStoreOptions,
} from './token-command';
import { registerClusterCommands } from './cluster-commands';
import { revokeNodeCommand, type NodeRevokeOptions } from './node-command';
import { JoinError } from './join-client';

const VERSION = '0.1.0';

const program = new Command()
  .name('kedgeadm')
  .description(
    'Set up and look after a kedge cluster.\n' +
      'Cloud side:  kedgeadm init, then start cloudcore, then kedgeadm token create for each gateway (or batch).\n' +
      'Edge side:   kedgeadm join (config, certificate, systemd unit), kedgeadm diagnose, kedgeadm reset.',
  )
  .version(VERSION, '-v, --version', 'print the kedgeadm version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const tokenCommand = program
  .command('token')
  .description(
    'Create, list and delete join tokens. A gateway presents its token once, on its first start, to get its node\n' +
      'certificate. Every token is bound to one node name (--node) or to a name pattern with a count\n' +
      '(--node-pattern, --count), joins each name once, and expires (1h by default). Without a subcommand: create.',
  );

/** where the CA and the token list are, the same for create, list and delete */
function withTokenStore(command: Command): Command {
  return command
    .option('--data-dir <dir>', "cloudcore's data dir (where it keeps pki/ca.crt, pki/ca.key and pki/join-tokens.json)", '/var/lib/kedge/cloudcore')
    .option('--kubeconfig <file>', 'use the CA and token list in the Secret cloudcore keeps in this cluster instead of --data-dir')
    .option('--secret-namespace <namespace>', "with --kubeconfig: the Secret's namespace, as cloudcore's pki.secretNamespace (default: this pod's namespace, else kedge)")
    .option('--secret-name <name>', "with --kubeconfig: the Secret's name, as cloudcore's pki.secretName (default: cloudcore-pki)");
}

withTokenStore(
  tokenCommand
    .command('create', { isDefault: true })
    .description('Create a join token and print it (only the token on stdout, so it can be piped or written to a file).'),
)
  .option('--node <name>', 'bind the token to this one node name')
  .option('--node-pattern <pattern>', "or bind it to node names matching this pattern, e.g. 'shop-*' (* = one or more of a-z 0-9 -)")
  .option('--count <n>', 'with --node-pattern: how many different names may join with it')
  .option('--ttl <duration>', 'how long the token stays valid: 90s, 30m, 1h, 7d', DEFAULT_TOKEN_TTL)
  .addHelpText(
    'after',
    `
cloudcore keeps its CA and token list in <data-dir>/pki when it runs the embedded API server, and in the
Secret kedge/cloudcore-pki when it runs against a cluster (pki.store auto); use --kubeconfig for the latter.
A token joins each node name once (a retry of an interrupted join with the same key is allowed) and never
a name that is already a node. Tokens made by older kedgeadm versions (unbound) are refused by cloudcore.

Examples:
  kedgeadm token create --node gateway-01 > gateway-01.token
  kedgeadm token create --node-pattern 'shop-*' --count 20 --ttl 8h
  kedgeadm token create --kubeconfig ~/.kube/config --node gateway-01
  kedgeadm join --cloud <cloud host> --node-name gateway-01 --token-file gateway-01.token`,
  )
  .action(async (options: TokenCommandOptions) => {
    const { token, record } = await createTokenCommand(options);
    process.stdout.write(`${token}\n`);
    process.stderr.write(`join token ${record.id} for ${describeTokenBinding(record)}, expires ${record.expiresAt}; \`kedgeadm token list\` shows it\n`);
  });

withTokenStore(tokenCommand.command('list').description('List the join tokens: id, what it is bound to, uses left, expiry, nodes joined. Never the token itself.'))
  .option('-o, --output <format>', 'table or json', 'table')
  .action(async (options: TokenStoreOptions & { output: string }) => {
    if (options.output !== 'table' && options.output !== 'json') throw new KedgeadmUsageError(`--output "${options.output}": expected table or json`);
    const records = await listTokensCommand(options);
    process.stdout.write(options.output === 'json' ? `${JSON.stringify(records, null, 2)}\n` : `${formatTokenTable(records)}\n`);
  });

withTokenStore(tokenCommand.command('delete').description('Delete a join token by its id (from `kedgeadm token list`): cloudcore refuses it from then on.'))
  .argument('<id>', 'the token id')
  .action(async (id: string, options: TokenStoreOptions) => {
    await deleteTokenCommand({ ...options, id });
    process.stdout.write(`deleted join token ${id}\n`);
  });

registerClusterCommands(program);

program
  .command('node')
  .description('manage the identity of joined edge nodes')
  .command('revoke')
  .description(
    "Revoke a node's certificates: cloudcore drops its session and refuses them from then on, and will not renew them.\n" +
      'The node comes back only by joining again with a new token. Deleting the Node (kubectl delete node) does the same.',
  )
  .argument('<name>', 'the node whose certificates to revoke')
  .option('--serial <hex>', 'revoke only this certificate (openssl x509 -noout -serial -in node.crt), not every certificate of the node')
  .option('--data-dir <dir>', "cloudcore's data dir (where it keeps pki/ca.crt)", '/var/lib/kedge/cloudcore')
  .option('--kubeconfig <file>', 'revoke in the Secret cloudcore keeps in this cluster instead of --data-dir')
  .option('--secret-namespace <namespace>', "with --kubeconfig: the Secret's namespace, as cloudcore's pki.secretNamespace")
  .option('--secret-name <name>', "with --kubeconfig: the Secret's name, as cloudcore's pki.secretName (default: cloudcore-pki)")
  .addHelpText(
    'after',
    `
Examples:
  kedgeadm node revoke gateway-01                       # a stolen or retired gateway
  kedgeadm node revoke gateway-01 --kubeconfig ~/.kube/config
  kedgeadm token --node gateway-01                      # then join the gateway again with this token`,
  )
  .action(async (name: string, options: NodeRevokeOptions) => {
    process.stdout.write(await revokeNodeCommand(name, options));
  });

program
  .command('version')
  .description('print the kedgeadm version')
  .action(() => {
    process.stdout.write(`kedgeadm ${VERSION}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // commander already printed the message (help and --version exit 0, usage errors 2)
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof JoinError) {
    process.stderr.write(`kedgeadm join: ${error.message}\n`);
    process.exit(1);
  }
  if (error instanceof KedgeadmUsageError || error instanceof DurationFormatError) {
    process.stderr.write(`kedgeadm: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`kedgeadm: ${(error as Error).message}\n`);
  process.exit(1);
});
