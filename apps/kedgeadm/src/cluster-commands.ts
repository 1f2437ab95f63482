// The commands that set up machines: init (cloud), join / reset / diagnose (edge).
import type { Command } from 'commander';
import { diagnose, formatResults, readEdgeCoreConfig } from './diagnose-command';
import { DEFAULT_MANIFEST_DIR, describeRef } from './cluster-manifests';
import { initCommand, type InitOptions } from './init-command';
import { joinCommand, type JoinOptions } from './join-command';
import { resetCommand } from './reset-command';

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

export function registerClusterCommands(program: Command): void {
  program
    .command('init')
    .description(
      'Prepare the cloud side. Without --kubeconfig: write <data-dir>/cloudcore.yaml for the embedded API server\n' +
        'and create the cluster CA in <data-dir>/pki. With --kubeconfig: deploy cloudcore into that cluster\n' +
        '(namespace kedge, service account, least-privilege RBAC, config, Deployment, Service; deploy/cloudcore)\n' +
        'by server-side apply, and create the CA in the Secret kedge/cloudcore-pki. What init creates is recorded\n' +
        'in <data-dir>/.kedgeadm-written.json for `kedgeadm reset`.',
    )
    .option('--data-dir <dir>', "cloudcore's data dir (with --kubeconfig: only the record of what init created)", '/var/lib/kedge/cloudcore')
    .option('--kubeconfig <file>', 'an existing Kubernetes cluster (needs cluster-admin to create the RBAC objects)')
    .option('--advertise-address <ip>', 'the IP address edges dial (goes into the server certificate)', '127.0.0.1')
    .option('--cloudcore-on-host', 'with --kubeconfig: run cloudcore on this machine against the cluster instead of in a pod')
    .option('--image <ref>', 'the cloudcore image for the Deployment (default: the one in deploy/cloudcore)')
    .option('--manifests <dir>', 'the manifests to apply', DEFAULT_MANIFEST_DIR)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  kedgeadm init --data-dir /var/lib/kedge/cloudcore --advertise-address 10.0.0.5       # one machine, embedded API server\n' +
        '  kedgeadm init --kubeconfig ~/.kube/config --advertise-address 10.0.0.5               # cloudcore in your cluster\n' +
        '  kedgeadm init --kubeconfig ~/.kube/config --cloudcore-on-host --advertise-address 10.0.0.5',
    )
    .action(async (options: InitOptions) => {
      const result = await initCommand({
        ...options,
        onApplied: ({ ref, created }) => out(`applied ${describeRef(ref)}${created ? ' (created)' : ' (already there: updated, kept on reset)'}`),
      });
      for (const file of result.files) out(`wrote ${file}`);
      out(`cluster CA in ${result.caLocation} (sha256 ${result.caHash})`);
      out('');
      out('Next:');
      const tokenFlags = options.kubeconfig ? `--kubeconfig ${options.kubeconfig}` : `--data-dir ${options.dataDir}`;
      if (result.mode === 'cluster') {
        out('  1. make the cloudcore image available on the cluster nodes (no registry needed):');
        out('       node --import tsx tools/package/cloudcore-image.ts   # writes dist/cloudcore-image-*.tar');
        out('       ctr -n k8s.io images import dist/cloudcore-image-*.tar   # on each node');
        out('     then: kubectl -n kedge rollout status deployment/cloudcore');
        out(`  2. expose the hub ports to the gateways at ${options.advertiseAddress}: 10000/TCP, 10002/TCP, 10001/UDP (see docs/deploy.md)`);
      } else {
        out(`  1. start cloudcore:     cloudcore --config ${result.configFile}`);
        out('  2. open the hub ports to the gateways: 10000/TCP, 10002/TCP, 10001/UDP');
      }
      out(`  3. create a join token: kedgeadm token create ${tokenFlags} --node gateway-01 > gateway-01.token`);
      out(`  4. on the gateway:      kedgeadm join --cloud ${options.advertiseAddress} --node-name gateway-01 --token-file gateway-01.token`);
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
    .option('--token <token>', 'join token printed by `kedgeadm token create` on the cloud, or "-" to read it from stdin')
    .option('--token-file <file>', 'or a file holding the join token')
    .option('--ws-port <port>', 'cloudhub WebSocket port', '10000')
    .option('--https-port <port>', 'cloudhub certificate (HTTPS) port', '10002')
    .option('--quic-port <port>', 'cloudhub QUIC port (UDP)', '10001')
    .option('--webtransport-port <port>', 'cloudhub WebTransport (HTTP/2) port', '10003')
    .option('--hub-protocol <protocol>', 'websocket | quic | webtransport', 'websocket')
    .option('--labels <k=v,...>', 'labels of the Node, e.g. site=plant-7,zone=a')
    .option('--runtime-endpoint <socket>', 'containerd CRI socket', 'unix:///run/containerd/containerd.sock')
    .option('--prefix <dir>', 'where edgecore.yaml and the systemd unit go', '/etc/kedge')
    .option('--data-dir <dir>', "edgecore's data dir (certificates in <data-dir>/pki)", '/var/lib/kedge/edgecore')
    .option('--edgecore-command <cmd>', 'how the systemd unit starts edgecore', '/usr/local/bin/edgecore')
    .option('--no-pods', 'join a gateway without containerd: edgecore runs with pods off (edged.enable: false); devices and MQTT work')
    .addHelpText(
      'after',
      '\nThe token is used once and written nowhere: edgecore starts from the certificate join stores.\n' +
        '\nExample:\n  ssh cloud kedgeadm token create --node gateway-01 | kedgeadm join --cloud 10.0.0.5 --node-name gateway-01 --token -\n' +
        '  kedgeadm join --cloud 10.0.0.5 --node-name gateway-01 --token-file gateway-01.token\n' +
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
    .option('--kubeconfig <file>', 'after init --kubeconfig: the cluster to delete from (default: the kubeconfig init used)')
    .addHelpText(
      'after',
      '\nStop edgecore first (systemctl disable --now edgecore): reset does not touch running processes.\n' +
        'After `init --kubeconfig`, reset deletes the cluster objects init created (the namespace kedge with the CA\n' +
        'Secret among them: every joined edge must join again), and keeps objects that were there before.',
    )
    .action(async (options: { prefix: string; kubeconfig?: string }) => {
      const result = await resetCommand(options);
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
      const results = await diagnose(readEdgeCoreConfig(options.config));
      out(formatResults(results));
      const failed = results.filter((r) => r.status === 'fail').length;
      out(failed === 0 ? 'diagnose: no failures' : `diagnose: ${failed} check(s) failed`);
      if (failed > 0) process.exitCode = 1;
    });
}
