// `kedgeadm join`: make this machine an edge node: edgecore.yaml, node certificate, systemd unit.
import { isAbsolute, join, resolve } from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { stringify } from 'yaml';
import { edgeCoreConfigSchema, type EdgeCoreConfigInput } from '@kedge/edgecore-config';
import { obtainNodeCredentials } from './join-client';
import { KedgeadmUsageError } from './token-command';
import { WrittenFiles, readWrittenFiles } from './written-files';

export interface JoinOptions {
  cloud?: string;
  wsPort: string;
  httpsPort: string;
  quicPort: string;
  webtransportPort?: string;
  nodeName?: string;
  /** the token itself (kedgeadm is short-lived), or "-" to read it from stdin */
  token?: string;
  /** a file holding the token */
  tokenFile?: string;
  labels?: string;
  hubProtocol: string;
  runtimeEndpoint: string;
  prefix: string;
  dataDir: string;
  edgecoreCommand: string;
  /** false with --no-pods: edged off, for a gateway without containerd */
  pods?: boolean;
}

export interface JoinResult {
  configFile: string;
  unitFile: string;
  files: string[];
}

function port(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new KedgeadmUsageError(`${flag} "${text}": expected a TCP/UDP port 1-65535`);
  return value;
}

export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!text) return labels;
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new KedgeadmUsageError(`--labels "${pair}": expected key=value pairs separated by commas, e.g. site=plant-7,zone=a`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

// the flag each field of the written edgecore.yaml comes from, so a refusal names what the user typed
const FLAG_OF_FIELD: Record<string, string> = {
  nodeName: '--node-name',
  dataDir: '--data-dir',
  'edgeHub.protocol': '--hub-protocol',
  'edgeHub.server': '--cloud/--ws-port',
  'edgeHub.quicServer': '--cloud/--quic-port',
  'edgeHub.webTransportServer': '--cloud/--webtransport-port',
  'edgeHub.httpServer': '--cloud/--https-port',
  labels: '--labels',
  'edged.containerRuntimeEndpoint': '--runtime-endpoint',
};

/** edgecore.yaml as join writes it, checked against the schema edgecore loads it with. */
function edgeCoreConfigOf(config: EdgeCoreConfigInput): EdgeCoreConfigInput {
  const result = edgeCoreConfigSchema.safeParse(config);
  if (result.success) return config;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const field = path.join('.');
    const flag = FLAG_OF_FIELD[field] ?? FLAG_OF_FIELD[path[0] ?? ''] ?? field;
    return `${flag} (edgecore.yaml ${field}): ${issue.message}`;
  });
  throw new KedgeadmUsageError(problems.join('; '));
}

const MAX_TOKEN_BYTES = 4096;

/** The join token from --token, --token - (stdin) or --token-file; it is written nowhere. */
async function joinTokenOf(options: JoinOptions, stdin: NodeJS.ReadableStream): Promise<string> {
  if (options.token !== undefined && options.tokenFile !== undefined) {
    throw new KedgeadmUsageError('give the join token one way: --token <token>, --token - (stdin) or --token-file <file>');
  }
  let text: string;
  if (options.tokenFile !== undefined) {
    let size: number;
    try {
      size = statSync(options.tokenFile).size;
    } catch (error) {
      throw new KedgeadmUsageError(`--token-file ${options.tokenFile}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (size > MAX_TOKEN_BYTES) throw new KedgeadmUsageError(`--token-file ${options.tokenFile}: ${size} bytes is not a join token; the file must hold only the token`);
    text = readFileSync(options.tokenFile, 'utf8');
  } else if (options.token === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      if (chunks.reduce((sum, c) => sum + c.length, 0) > MAX_TOKEN_BYTES) throw new KedgeadmUsageError('--token -: stdin holds more than a join token; pipe only the token');
    }
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = options.token ?? '';
  }
  const token = text.trim();
  if (token === '') throw new KedgeadmUsageError('the join token is empty; pass the token printed by `kedgeadm token create`');
  return token;
}

export async function joinCommand(options: JoinOptions, stdin: NodeJS.ReadableStream = process.stdin): Promise<JoinResult> {
  const missing = (['cloud', 'nodeName'] as const).filter((k) => !options[k]).map((k) => ({ cloud: '--cloud <host>', nodeName: '--node-name <name>' })[k]);
  if (!options.token && !options.tokenFile) missing.push('--token <token> (or --token-file <file>, or --token - for stdin)');
  if (missing.length > 0) {
    throw new KedgeadmUsageError(`join needs ${missing.join(', ')}; get a token on the cloud with \`kedgeadm token create --node <name>\``);
  }
  const cloud = options.cloud as string;
  const nodeName = options.nodeName as string;
  const token = await joinTokenOf(options, stdin);
  const ws = port(options.wsPort, '--ws-port');
  const https = port(options.httpsPort, '--https-port');
  const quic = port(options.quicPort, '--quic-port');
  const webtransport = port(options.webtransportPort ?? '10003', '--webtransport-port');
  const labels = parseLabels(options.labels);
  const dataDir = isAbsolute(options.dataDir) ? options.dataDir : resolve(options.dataDir);
  const host = hostForUrl(cloud);
  const httpServer = `https://${host}:${https}`;
  const config = edgeCoreConfigOf({
    apiVersion: 'kedge.io/v1alpha1',
    kind: 'EdgeCore',
    nodeName,
    dataDir,
    // the schema refuses anything but websocket, quic or webtransport, naming --hub-protocol
    edgeHub: {
      protocol: options.hubProtocol as 'websocket' | 'quic' | 'webtransport',
      server: `${host}:${ws}`,
      quicServer: `${host}:${quic}`,
      webTransportServer: `${host}:${webtransport}`,
      httpServer,
    },
    labels,
    // written out, at the secure defaults, so the operator sees what to loosen for hostNetwork or hostPath pods
    edged: { enable: options.pods !== false, containerRuntimeEndpoint: options.runtimeEndpoint, podSecurity: { allowPrivileged: false, allowHostNetwork: false, allowedHostPaths: [] } },
  });
  const prefix = resolve(options.prefix);
  if (readWrittenFiles(prefix)) {
    throw new KedgeadmUsageError(`${prefix} already holds a kedgeadm join or init (see ${join(prefix, '.kedgeadm-written.json')}); run \`kedgeadm reset --prefix ${options.prefix}\` first`);
  }
  const configFile = join(prefix, 'edgecore.yaml');
  if (existsSync(configFile)) throw new KedgeadmUsageError(`${configFile} exists and was not written by kedgeadm; move it away or pick another --prefix`);

  // certificates first: a refused token must leave nothing behind. The token itself is written
  // nowhere (not into edgecore.yaml, not into the unit): the certificate is what edgecore needs.
  const credentials = await obtainNodeCredentials(httpServer, token, nodeName);

  const written = new WrittenFiles(prefix, 'join');
  const pkiDir = join(dataDir, 'pki');
  // edgecore's data dir will hold every Secret synced to the node, and pki/ the node's key: owner only
  written.ensurePrivateDir(dataDir);
  written.ensurePrivateDir(pkiDir);
  written.write(join(pkiDir, 'ca.crt'), credentials.caPem);
  written.write(join(pkiDir, 'node.crt'), credentials.certPem);
  written.write(join(pkiDir, 'node.key'), credentials.keyPem, 0o600);
  written.write(configFile, `# written by kedgeadm join; edgecore --print-default-config shows every setting\n${stringify(config)}`);
  const unitFile = join(prefix, 'systemd', 'edgecore.service');
  written.write(
    unitFile,
    [
      '# written by kedgeadm join; install: cp this file /etc/systemd/system/ && systemctl enable --now edgecore',
      '[Unit]',
      'Description=kedge edgecore (edge node agent)',
      'After=network-online.target containerd.service',
      'Wants=network-online.target',
      '',
      '[Service]',
      `ExecStart=${options.edgecoreCommand} --config ${configFile}`,
      'Restart=always',
      'RestartSec=5',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n'),
  );
  return { configFile, unitFile, files: [...written.files] };
}
