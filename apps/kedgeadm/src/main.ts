#!/usr/bin/env node
// kedgeadm: the admin command line for kedge clusters.
import { Command, CommanderError } from 'commander';
import { DurationFormatError } from './duration';
import { issueTokenCommand, KedgeadmUsageError, type TokenCommandOptions } from './token-command';
import { registerClusterCommands } from './cluster-commands';
import { revokeNodeCommand, type NodeRevokeOptions } from './node-command';
import { JoinError } from './join-client';

const VERSION = '0.1.0';

const program = new Command()
  .name('kedgeadm')
  .description(
    'Set up and look after a kedge cluster.\n' +
      'Cloud side:  kedgeadm init, then start cloudcore, then kedgeadm token for each gateway.\n' +
      'Edge side:   kedgeadm join (config, certificate, systemd unit), kedgeadm diagnose, kedgeadm reset.',
  )
  .version(VERSION, '-v, --version', 'print the kedgeadm version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program
  .command('token')
  .description(
    'Issue a join token. A gateway presents it once, on its first start, to get its node certificate.\n' +
      'The token carries the hash of the cluster CA, so the gateway can check it talks to the right cloud.',
  )
  .option('--data-dir <dir>', "cloudcore's data dir (where it keeps pki/ca.crt and pki/ca.key)", '/var/lib/kedge/cloudcore')
  .option('--ttl <duration>', 'how long the token stays valid: 90s, 30m, 24h, 7d', '24h')
  .option('--node <name>', 'bind the token to one node name; without it, the first node to use it owns it')
  .option('--kubeconfig <file>', 'read the CA from the Secret cloudcore keeps in this cluster instead of --data-dir')
  .option('--secret-namespace <namespace>', "with --kubeconfig: the Secret's namespace, as cloudcore's pki.secretNamespace (default: this pod's namespace, else kedge)")
  .option('--secret-name <name>', "with --kubeconfig: the Secret's name, as cloudcore's pki.secretName (default: cloudcore-pki)")
  .addHelpText(
    'after',
    `
cloudcore keeps its CA in <data-dir>/pki when it runs the embedded API server, and in the Secret
kedge/cloudcore-pki when it runs against a cluster (pki.store auto); use --kubeconfig for the latter.

Examples:
  kedgeadm token --ttl 2h --node gateway-01
  kedgeadm token --kubeconfig ~/.kube/config --node gateway-01
  kedgeadm join --cloud <cloud host> --node-name gateway-01 --token <printed token>`,
  )
  .action(async (options: TokenCommandOptions) => {
    process.stdout.write(`${await issueTokenCommand(options)}\n`);
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
