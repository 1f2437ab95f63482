// The commands that set up machines: init (cloud), join / reset / diagnose (edge).
import type { Command } from 'commander';
import { diagnose, formatResults, readEdgeSettings } from './diagnose-command';
import { initCommand } from './init-command';
import { joinCommand, type JoinOptions } from './join-command';
import { resetCommand } from './reset-command';

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

export function registerClusterCommands(program: Command): void {
  program
    .command('init')
    .description('Prepare the cloud side: write <data-dir>/cloudcore.yaml and create the cluster CA in <data-dir>/pki.')
    .option('--data-dir <dir>', "cloudcore's data dir", '/var/lib/kedge/cloudcore')
    .option('--kubeconfig <file>', 'use this Kubernetes cluster instead of the embedded API server')
    .option('--advertise-address <ip>', 'the IP address edges dial (goes into the server certificate)', '127.0.0.1')
    .addHelpText('after', '\nExample:\n  kedgeadm init --data-dir /var/lib/kedge/cloudcore --advertise-address 10.0.0.5')
    .action(async (options: { dataDir: string; kubeconfig?: string; advertiseAddress: string }) => {
      const result = await initCommand(options);
      out(`wrote ${result.configFile}`);
      out(`cluster CA ${result.caFile} (sha256 ${result.caHash})`);
      out('');
      out('Next:');
      out(`  1. start cloudcore:     cloudcore --config ${result.configFile}`);
      out(`  2. issue a join token:  kedgeadm token --data-dir ${options.dataDir} --node gateway-01`);
      out(`  3. on the gateway:      kedgeadm join --cloud ${options.advertiseAddress} --node-name gateway-01 --token <token>`);
      out(`Undo: kedgeadm reset --prefix ${options.dataDir}`);
    });

  program
    .command('join')
    .description(
      'Make this machine an edge node: fetch the cluster CA (checked against the hash in the token), get the node\n' +
        'certificate, write <prefix>/edgecore.yaml and <prefix>/systemd/edgecore.service. Every file written is\n' +
        'recorded in <prefix>/.kedgeadm-written.json for `kedgeadm reset`.',
    )
    .option('--cloud <host>', 'cloudcore host name or IP address (required)')
    .option('--node-name <name>', 'this node\'s name, DNS-1123, e.g. gateway-01 (required)')
    .option('--token <token>', 'join token printed by `kedgeadm token` on the cloud (required)')
    .option('--ws-port <port>', 'cloudhub WebSocket port', '10000')
    .option('--https-port <port>', 'cloudhub certificate (HTTPS) port', '10002')
    .option('--quic-port <port>', 'cloudhub QUIC port (UDP)', '10001')
    .option('--hub-protocol <protocol>', 'websocket | quic', 'websocket')
    .option('--labels <k=v,...>', 'labels of the Node, e.g. site=plant-7,zone=a')
    .option('--runtime-endpoint <socket>', 'containerd CRI socket', 'unix:///run/containerd/containerd.sock')
    .option('--prefix <dir>', 'where edgecore.yaml and the systemd unit go', '/etc/kedge')
    .option('--data-dir <dir>', "edgecore's data dir (certificates in <data-dir>/pki)", '/var/lib/kedge/edgecore')
    .option('--edgecore-command <cmd>', 'how the systemd unit starts edgecore', '/usr/local/bin/edgecore')
    .addHelpText(
      'after',
      '\nExample:\n  kedgeadm join --cloud 10.0.0.5 --node-name gateway-01 --token "$(ssh cloud kedgeadm token --node gateway-01)"\n' +
        '  systemctl link /etc/kedge/systemd/edgecore.service && systemctl enable --now edgecore\n' +
        '  kedgeadm diagnose           # checks link, certificate, containerd, MQTT, disk and clock',
    )
    .action(async (options: JoinOptions) => {
      const result = await joinCommand(options);
      for (const file of result.files) out(`wrote ${file}`);
      out('');
      out('Joined. Start edgecore:');
      out(`  edgecore --config ${result.configFile}`);
      out(`  or: systemctl link ${result.unitFile} && systemctl enable --now edgecore`);
      out(`Check: kedgeadm diagnose --config ${result.configFile}    Undo: kedgeadm reset --prefix ${options.prefix}`);
    });

  program
    .command('reset')
    .description('Remove exactly the files `kedgeadm join` or `kedgeadm init` recorded in <prefix>/.kedgeadm-written.json.')
    .option('--prefix <dir>', 'the --prefix given to join (or --data-dir given to init)', '/etc/kedge')
    .addHelpText('after', '\nStop edgecore first (systemctl disable --now edgecore): reset does not touch running processes.')
    .action((options: { prefix: string }) => {
      const result = resetCommand(options);
      for (const file of result.removed) out(`removed ${file}`);
      for (const file of result.alreadyGone) out(`already gone ${file}`);
      out(`reset: undid kedgeadm ${result.command} (${result.removed.length} removed)`);
    });

  program
    .command('diagnose')
    .description(
      'Check this edge node: link to the cloud, TLS with the stored CA, node certificate, containerd, MQTT broker,\n' +
        'disk space and clock. One line per check (ok / warn / fail and what to do); exits 1 when a check fails.',
    )
    .option('--config <file>', "edgecore's config", '/etc/kedge/edgecore.yaml')
    .action(async (options: { config: string }) => {
      const results = await diagnose(readEdgeSettings(options.config));
      out(formatResults(results));
      const failed = results.filter((r) => r.status === 'fail').length;
      out(failed === 0 ? 'diagnose: no failures' : `diagnose: ${failed} check(s) failed`);
      if (failed > 0) process.exitCode = 1;
    });
}
