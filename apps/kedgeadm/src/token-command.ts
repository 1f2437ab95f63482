// `kedgeadm token create|list|delete`: join tokens from the CA that cloudcore created, in its data dir
// or, with --kubeconfig, in the Kubernetes Secret it keeps in a cluster. Every token is bound to one
// node name or to a name pattern with a count, registered in the same store's token ledger (which
// the certificate server checks), listable without its secret, and deletable.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  FileCertificateStore,
  JoinTokenLedger,
  MAX_TOKEN_COUNT,
  createJoinToken,
  describeTokenBinding,
  isValidNodeName,
  isValidNodePattern,
  loadOrCreateAuthority,
  type CertificateAuthority,
  type CertificateStore,
  type JoinTokenRecord,
} from '@kedge/pki';
import { DEFAULT_SECRET_NAME, SecretCertificateStore, defaultSecretNamespace } from '@kedge/pki-secret';
import { parseDurationSeconds } from './duration';

/** where the CA and the token ledger are: cloudcore's data dir, or its Secret in a cluster */
export interface TokenStoreOptions {
  dataDir: string;
  /** read the CA from cloudcore's Secret in this cluster instead of the data dir */
  kubeconfig?: string;
  /** default: the pod's namespace in a cluster, else kedge (as cloudcore's pki.secretNamespace) */
  secretNamespace?: string;
  /** default cloudcore-pki (as cloudcore's pki.secretName) */
  secretName?: string;
}

export interface TokenCommandOptions extends TokenStoreOptions {
  /** 1h by default */
  ttl?: string;
  node?: string;
  nodePattern?: string;
  /** with nodePattern: how many different names may join */
  count?: string;
}

export const DEFAULT_TOKEN_TTL = '1h';

export class KedgeadmUsageError extends Error {
  override readonly name = 'KedgeadmUsageError';
}

export interface CreatedToken {
  token: string;
  record: JoinTokenRecord;
}

/** `kedgeadm token create`: a bound token, registered in the ledger cloudcore checks. */
export async function createTokenCommand(options: TokenCommandOptions): Promise<CreatedToken> {
  const ttlSeconds = parseDurationSeconds(options.ttl ?? DEFAULT_TOKEN_TTL, '--ttl');
  const binding = bindingOf(options);
  const { authority, store } = await openTokenStore(options);
  return createJoinToken(authority, new JoinTokenLedger(store), { ttlSeconds, ...binding });
}

/** the token only, for callers that print it */
export async function issueTokenCommand(options: TokenCommandOptions): Promise<string> {
  return (await createTokenCommand(options)).token;
}

export async function listTokensCommand(options: TokenStoreOptions): Promise<JoinTokenRecord[]> {
  const { store } = await openTokenStore(options);
  return new JoinTokenLedger(store).list();
}

export async function deleteTokenCommand(options: TokenStoreOptions & { id: string }): Promise<void> {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(options.id)) {
    throw new KedgeadmUsageError(`token id "${options.id.slice(0, 64)}": expected an id as printed by \`kedgeadm token list\``);
  }
  const { store } = await openTokenStore(options);
  const removed = await new JoinTokenLedger(store).delete(options.id);
  if (!removed) {
    throw new KedgeadmUsageError(`no join token ${options.id} in ${store.location} (already deleted, or expired and pruned); \`kedgeadm token list\` shows the tokens`);
  }
}

/** `kedgeadm token list` as a table: never the token itself, only its id */
export function formatTokenTable(records: readonly JoinTokenRecord[], now: Date = new Date()): string {
  const rows = records.map((record) => [
    record.id,
    describeTokenBinding(record),
    `${Math.max(0, record.count - record.uses.length)}/${record.count}`,
    Date.parse(record.expiresAt) <= now.getTime() ? `expired ${record.expiresAt}` : record.expiresAt,
    record.uses.map((use) => use.nodeName).join(',') || '-',
  ]);
  const table = [['ID', 'BOUND TO', 'USES LEFT', 'EXPIRES', 'USED BY'], ...rows];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  return table.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

function bindingOf(options: TokenCommandOptions): { nodeName: string } | { nodePattern: string; count: number } {
  if (options.node !== undefined && options.nodePattern !== undefined) {
    throw new KedgeadmUsageError('give either --node <name> or --node-pattern <pattern> with --count <n>, not both');
  }
  if (options.node !== undefined) {
    if (!isValidNodeName(options.node)) throw new KedgeadmUsageError(`--node "${options.node}": expected a DNS-1123 node name such as gateway-01`);
    if (options.count !== undefined && options.count !== '1') throw new KedgeadmUsageError('--count goes with --node-pattern; a --node token joins its one node');
    return { nodeName: options.node };
  }
  if (options.nodePattern !== undefined) {
    if (!isValidNodePattern(options.nodePattern)) {
      throw new KedgeadmUsageError(
        `--node-pattern "${options.nodePattern}": expected node-name characters with "*" (one or more of a-z 0-9 -) and at least one other character, e.g. 'shop-*'`,
      );
    }
    const count = Number(options.count);
    if (options.count === undefined || !Number.isSafeInteger(count) || count < 1 || count > MAX_TOKEN_COUNT) {
      throw new KedgeadmUsageError(`--node-pattern needs --count <n>, how many gateways may join with the token (1 to ${MAX_TOKEN_COUNT})`);
    }
    return { nodePattern: options.nodePattern, count };
  }
  throw new KedgeadmUsageError(
    'a join token must be bound: --node <name> for one gateway, or --node-pattern <pattern> --count <n> for a batch ' +
      "(e.g. --node-pattern 'shop-*' --count 20)",
  );
}

async function openTokenStore(options: TokenStoreOptions): Promise<{ authority: CertificateAuthority; store: CertificateStore }> {
  return options.kubeconfig === undefined ? fromDataDir(options.dataDir) : fromSecret(options, options.kubeconfig);
}

async function fromDataDir(dataDir: string): Promise<{ authority: CertificateAuthority; store: CertificateStore }> {
  const pkiDir = join(dataDir, 'pki');
  if (!existsSync(join(pkiDir, CA_CERT_FILE))) {
    throw new KedgeadmUsageError(
      `no CA in ${pkiDir}: start cloudcore once with --data-dir ${dataDir} (it creates the CA), then run this again`,
    );
  }
  const store = new FileCertificateStore(pkiDir);
  return { authority: await loadOrCreateAuthority(store), store };
}

async function fromSecret(options: TokenStoreOptions, kubeconfigFile: string): Promise<{ authority: CertificateAuthority; store: CertificateStore }> {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(kubeconfigFile);
  } catch (error) {
    throw new KedgeadmUsageError(`--kubeconfig ${kubeconfigFile}: cannot be read as a kubeconfig: ${(error as Error).message}`);
  }
  const namespace = options.secretNamespace ?? defaultSecretNamespace();
  const name = options.secretName ?? DEFAULT_SECRET_NAME;
  const store = new SecretCertificateStore({ kubeConfig, namespace, name });
  const [certPem, keyPem] = await Promise.all([store.read(CA_CERT_FILE), store.read(CA_KEY_FILE)]);
  if (certPem === undefined && keyPem === undefined) {
    // never create a CA here: cloudcore would not know it, and no edge could ever connect
    const server = kubeConfig.getCurrentCluster()?.server ?? 'the cluster';
    throw new KedgeadmUsageError(
      `no CA in ${store.location} on ${server}: start cloudcore once against this cluster (pki.store auto or secret, ` +
        `pki.secretNamespace ${namespace}, pki.secretName ${name}), or run kedgeadm init --kubeconfig ${kubeconfigFile}, ` +
        'then run this again',
    );
  }
  // checks that both halves are there and belong together
  return { authority: await loadOrCreateAuthority(store), store };
}
