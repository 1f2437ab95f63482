// What the certificate port serves besides certificates: the one-line installer (GET /install.sh) and the
// self-contained gateway bundles (GET /bundles/<name>, with /bundles/SHA256SUMS and /bundles/manifest.json)
// from cloudHub.https.bundleDir. The directory is read once, at start: only regular files with a bundle's
// name are listed, their sha256 computed then. A request names a bundle by its listed name and nothing
// else, so no request path ever becomes a filesystem path (no traversal, no symlink escapes).
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readFileSync, readdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { RequestRefusal } from './refusal';

export const INSTALL_SCRIPT_FILE = 'install.sh';
export const BUNDLE_NAME = /^kedge-gateway-[A-Za-z0-9.+-]+-linux-(x64|arm64)\.tar\.gz$/;
const MAX_INSTALL_SCRIPT_BYTES = 256 * 1024;
const BUILD_HINT =
  'build them with `node --import tsx tools/package/gateway-bundle.ts --out <dir>` and set cloudHub.https.bundleDir: <dir> in cloudcore.yaml (then restart cloudcore)';

export interface GatewayBundleFile {
  name: string;
  arch: 'x64' | 'arm64';
  path: string;
  sha256: string;
  bytes: number;
}

export interface GatewayBundles {
  dir: string;
  /** install.sh as found in the directory, with its __KEDGE_...__ placeholders */
  installScript?: string;
  bundles: Map<string, GatewayBundleFile>;
  /** files in the directory that are not served, and why */
  skipped: { name: string; why: string }[];
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Lists `dir` once: the install script and every bundle (regular files only; symlinks are skipped). */
export async function loadGatewayBundles(dir: string): Promise<GatewayBundles> {
  const bundles = new Map<string, GatewayBundleFile>();
  const skipped: GatewayBundles['skipped'] = [];
  let installScript: string | undefined;
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new Error(`cloudHub.https.bundleDir ${dir}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); ${BUILD_HINT}`, { cause: error });
  }
  for (const name of names) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (name === INSTALL_SCRIPT_FILE || BUNDLE_NAME.test(name)) {
      if (!stat.isFile()) {
        skipped.push({ name, why: 'not a regular file (symlinks are not followed)' });
        continue;
      }
    } else {
      skipped.push({ name, why: 'not install.sh or a kedge-gateway-<version>-linux-<arch>.tar.gz' });
      continue;
    }
    if (name === INSTALL_SCRIPT_FILE) {
      if (stat.size > MAX_INSTALL_SCRIPT_BYTES) skipped.push({ name, why: `larger than ${MAX_INSTALL_SCRIPT_BYTES} bytes` });
      else installScript = readFileSync(path, 'utf8');
      continue;
    }
    const arch = BUNDLE_NAME.exec(name)![1] as 'x64' | 'arm64';
    bundles.set(name, { name, arch, path, sha256: await sha256Of(path), bytes: stat.size });
  }
  return { dir, ...(installScript === undefined ? {} : { installScript }), bundles, skipped };
}

export interface InstallScriptAddress {
  /** names the server certificate holds (advertiseAddresses, dnsNames): a Host header naming one of them is used */
  hosts: string[];
  /** the certificate port, when the Host header gives none */
  httpsPort: number;
  /** the hub's WebSocket port edges dial */
  webSocketPort: () => number | undefined;
}

// "name", "1.2.3.4", "[::1]", each with an optional ":port"
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/;

/** The cloud address baked into the served script: where the request came to, if the certificate covers it. */
function scriptAddress(request: IncomingMessage, address: InstallScriptAddress): { host: string; httpsPort: number } {
  const match = HOST_HEADER.exec(request.headers.host ?? '');
  const named = match?.[1]?.replace(/^\[|\]$/g, '');
  const host = named !== undefined && address.hosts.includes(named) ? named : address.hosts[0] ?? '127.0.0.1';
  const port = match?.[2] === undefined || named !== host ? address.httpsPort : Number(match[2]);
  return { host, httpsPort: port >= 1 && port <= 65535 ? port : address.httpsPort };
}

export interface GatewayServed {
  path: string;
  bytes: number;
}

/**
 * Answers /install.sh and /bundles/... when `path` is one of them (returns what was served), or
 * returns undefined for any other path. Throws RequestRefusal (404, 405) like the certificate routes.
 */
export function serveGatewayFiles(
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
  bundles: GatewayBundles | undefined,
  address: InstallScriptAddress,
): GatewayServed | undefined {
  if (path !== '/install.sh' && path !== '/bundles' && !path.startsWith('/bundles/')) return undefined;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    throw new RequestRefusal(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use GET or HEAD`, { headers: { Allow: 'GET, HEAD' } });
  }
  if (bundles === undefined) {
    throw new RequestRefusal(404, 'NOT_FOUND', `this cloudcore serves no install script or gateway bundles (cloudHub.https.bundleDir is not set): ${BUILD_HINT}`);
  }
  if (path === '/install.sh') {
    if (bundles.installScript === undefined) throw new RequestRefusal(404, 'NOT_FOUND', `${bundles.dir} holds no install.sh: ${BUILD_HINT}`);
    const { host, httpsPort } = scriptAddress(request, address);
    const script = bundles.installScript
      .replace("'__KEDGE_CLOUD_HOST__'", `'${host}'`)
      .replace("'__KEDGE_HTTPS_PORT__'", `'${httpsPort}'`)
      .replace("'__KEDGE_WS_PORT__'", `'${address.webSocketPort() ?? 10000}'`);
    return send(request, response, 'text/x-shellscript; charset=utf-8', Buffer.from(script), path);
  }
  const sorted = [...bundles.bundles.values()];
  if (path === '/bundles/SHA256SUMS') {
    return send(request, response, 'text/plain; charset=utf-8', Buffer.from(sorted.map((b) => `${b.sha256}  ${b.name}\n`).join('')), path);
  }
  if (path === '/bundles' || path === '/bundles/' || path === '/bundles/manifest.json') {
    const manifest = { bundles: sorted.map(({ name, arch, sha256, bytes }) => ({ name, platform: `linux-${arch}`, sha256, bytes, url: `/bundles/${name}` })) };
    return send(request, response, 'application/json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), path);
  }
  // the name is looked up among what was listed at start, never joined onto the directory
  const bundle = bundles.bundles.get(path.slice('/bundles/'.length));
  if (bundle === undefined) {
    const have = sorted.map((b) => b.name).join(', ') || 'none';
    throw new RequestRefusal(404, 'NOT_FOUND', `no such bundle ${JSON.stringify(path.slice(0, 96))}; this cloudcore has: ${have} (see /bundles/manifest.json)`);
  }
  response.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': bundle.bytes, 'X-Content-SHA256': bundle.sha256 });
  if (request.method === 'HEAD') {
    response.end();
  } else {
    const stream = createReadStream(bundle.path, { start: 0, end: Math.max(0, bundle.bytes - 1) });
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  }
  return { path, bytes: bundle.bytes };
}

function send(request: IncomingMessage, response: ServerResponse, type: string, body: Buffer, path: string): GatewayServed {
  response.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
  response.end(request.method === 'HEAD' ? undefined : body);
  return { path, bytes: body.length };
}
