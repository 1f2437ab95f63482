// `kedgeadm token`: issue a join token from the CA that cloudcore created in its data dir.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CA_CERT_FILE, isValidNodeName, issueJoinToken, loadOrCreateAuthority } from '@kedge/pki';
import { parseDurationSeconds } from './duration';

export interface TokenCommandOptions {
  dataDir: string;
  ttl: string;
  node?: string;
}

export class KedgeadmUsageError extends Error {
  override readonly name = 'KedgeadmUsageError';
}

export async function issueTokenCommand(options: TokenCommandOptions): Promise<string> {
  const ttlSeconds = parseDurationSeconds(options.ttl, '--ttl');
  if (options.node !== undefined && !isValidNodeName(options.node)) {
    throw new KedgeadmUsageError(`--node "${options.node}": expected a DNS-1123 node name such as gateway-01`);
  }
  const pkiDir = join(options.dataDir, 'pki');
  if (!existsSync(join(pkiDir, CA_CERT_FILE))) {
    throw new KedgeadmUsageError(
      `no CA in ${pkiDir}: start cloudcore once with --data-dir ${options.dataDir} (it creates the CA), then run this again`,
    );
  }
  const authority = await loadOrCreateAuthority(pkiDir);
  return issueJoinToken(authority, { ttlSeconds, ...(options.node ? { nodeName: options.node } : {}) });
}
