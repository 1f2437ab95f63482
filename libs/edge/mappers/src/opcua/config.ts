// OPC UA device and visitor config in KubeEdge's shape (mappers-go `ProtocolConfigOPCUA` / `VisitorConfigOPCUA`):
// protocol.configData {url, userName, password, securityPolicy, securityMode, certificate, privateKey, timeout},
// visitor configData {nodeID, browseName?}. Every problem is a MapperError naming the field.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MapperError } from '../errors';

export const SECURITY_MODES = ['None', 'Sign', 'SignAndEncrypt'] as const;
export type SecurityModeName = (typeof SECURITY_MODES)[number];
export const SECURITY_POLICIES = ['None', 'Basic128Rsa15', 'Basic256', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
export type SecurityPolicyName = (typeof SECURITY_POLICIES)[number];

export interface OpcUaProtocolConfig {
  url: string;
  userName?: string;
  password?: string;
  securityMode: SecurityModeName;
  securityPolicy: SecurityPolicyName;
  /** PEM files of the client's application certificate and key (needed for Sign / SignAndEncrypt) */
  certificate?: string;
  privateKey?: string;
  /** DER of the server certificate the channel must present (`remoteCertificate`, a PEM or DER file) */
  remoteCertificate?: Buffer;
  /** ms for connecting and for each request */
  timeoutMs: number;
  /** where node-opcua keeps the client's PKI (trusted/rejected server certificates) */
  pkiDir?: string;
  /**
   * X.509 user identity (kedge's `userCertificate` + `userPrivateKey`): the session is activated as the user of
   * this certificate, distinct from the channel's application certificate
   */
  userIdentity?: { certificateDer: Buffer; privateKeyPem: string; certificateFile: string };
}

function str(config: Record<string, unknown>, key: string, device: string): string | undefined {
  const v = config[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new MapperError('CONFIG_INVALID', `${key} must be a string`, { device, field: `protocol.configData.${key}` });
  return v;
}

/** KubeEdge writes `Aes128Sha256RsaOaep`; node-opcua names it `Aes128_Sha256_RsaOaep` */
function policyName(raw: string): string {
  return raw.replace(/^Aes128Sha256RsaOaep$/, 'Aes128_Sha256_RsaOaep').replace(/^Aes256Sha256RsaPss$/, 'Aes256_Sha256_RsaPss');
}

/**
 * mappers-go reads `password` as a file holding the password; kedge accepts both: an absolute path to an
 * existing file is read (trailing newline dropped), anything else is the password itself.
 */
function resolvePassword(raw: string | undefined, device: string): string | undefined {
  if (raw === undefined || !path.isAbsolute(raw) || !existsSync(raw)) return raw;
  try {
    return readFileSync(raw, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new MapperError('CONFIG_INVALID', `cannot read the password file: ${(error as Error).message}`, { device, field: 'protocol.configData.password', cause: error });
  }
}

/**
 * A credential file named by a Device spec: an absolute path without `..` segments (the spec comes from the
 * cloud; it must not walk the gateway's file system), a regular file (a symlink could point anywhere), and for a
 * private key owned by this user and closed to others (mode 0600 or stricter), as the PKI folder check does.
 */
function credentialFile(raw: string, key: string, device: string, secret: boolean): string {
  const field = `protocol.configData.${key}`;
  if (!path.isAbsolute(raw) || raw.split(/[\\/]/).includes('..')) {
    throw new MapperError('CONFIG_INVALID', `${key} must be an absolute path without .. segments, got ${JSON.stringify(raw.slice(0, 200))}`, { device, field });
  }
  let stat;
  try {
    stat = lstatSync(raw);
  } catch (error) {
    throw new MapperError('CONFIG_INVALID', `cannot read ${raw}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { device, field, cause: error });
  }
  if (!stat.isFile()) throw new MapperError('CONFIG_INVALID', `${raw} must be a regular file (not a symlink or directory)`, { device, field });
  const uid = process.getuid?.();
  if (secret && ((uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0)) {
    throw new MapperError(
      'CONFIG_INVALID',
      `${raw} holds a private key and must be owned by this user with mode 0600 (it is ${(stat.mode & 0o777).toString(8)}, owner ${stat.uid}); run chmod 600 ${raw}`,
      { device, field },
    );
  }
  return raw;
}

function readUserIdentity(certificateFile: string, keyFile: string, device: string): NonNullable<OpcUaProtocolConfig['userIdentity']> {
  let certificateDer: Buffer;
  try {
    certificateDer = Buffer.from(new X509Certificate(readFileSync(certificateFile)).raw);
  } catch (error) {
    throw new MapperError('CONFIG_INVALID', `cannot read a certificate from ${certificateFile}: ${(error as Error).message}`, { device, field: 'protocol.configData.userCertificate', cause: error });
  }
  const privateKeyPem = readFileSync(keyFile, 'utf8');
  let matches = false;
  try {
    matches = new X509Certificate(certificateDer).checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch (error) {
    throw new MapperError('CONFIG_INVALID', `cannot read a PEM private key from ${keyFile}: ${(error as Error).message}`, { device, field: 'protocol.configData.userPrivateKey', cause: error });
  }
  if (!matches) throw new MapperError('CONFIG_INVALID', `the key in ${keyFile} is not the key of userCertificate ${certificateFile}`, { device, field: 'protocol.configData.userPrivateKey' });
  return { certificateDer, privateKeyPem, certificateFile };
}

export function parseOpcUaProtocol(config: Record<string, unknown>, device: string): OpcUaProtocolConfig {
  const url = str(config, 'url', device);
  if (url === undefined || !/^opc\.tcp:\/\/[^/]+/.test(url)) {
    throw new MapperError('CONFIG_INVALID', `url must be opc.tcp://host:port[/path], got ${JSON.stringify(url ?? '')}`, { device, field: 'protocol.configData.url' });
  }
  const securityMode = str(config, 'securityMode', device) ?? 'None';
  if (!(SECURITY_MODES as readonly string[]).includes(securityMode)) {
    throw new MapperError('CONFIG_INVALID', `securityMode ${securityMode} is not one of ${SECURITY_MODES.join(', ')}`, { device, field: 'protocol.configData.securityMode' });
  }
  const securityPolicy = policyName(str(config, 'securityPolicy', device) ?? 'None');
  if (!(SECURITY_POLICIES as readonly string[]).includes(securityPolicy)) {
    throw new MapperError('CONFIG_INVALID', `securityPolicy ${securityPolicy} is not one of ${SECURITY_POLICIES.join(', ')}`, { device, field: 'protocol.configData.securityPolicy' });
  }
  if ((securityMode === 'None') !== (securityPolicy === 'None')) {
    throw new MapperError('CONFIG_INVALID', `securityMode ${securityMode} needs a matching securityPolicy (got ${securityPolicy})`, { device, field: 'protocol.configData.securityPolicy' });
  }
  const userName = str(config, 'userName', device);
  const password = resolvePassword(str(config, 'password', device), device);
  if (userName !== undefined && password === undefined) {
    throw new MapperError('CONFIG_INVALID', 'userName is set but password is not', { device, field: 'protocol.configData.password' });
  }
  const userCertificate = str(config, 'userCertificate', device);
  const userPrivateKey = str(config, 'userPrivateKey', device);
  if ((userCertificate === undefined) !== (userPrivateKey === undefined)) {
    throw new MapperError('CONFIG_INVALID', 'userCertificate and userPrivateKey go together', { device, field: `protocol.configData.${userCertificate === undefined ? 'userCertificate' : 'userPrivateKey'}` });
  }
  if (userCertificate !== undefined && userName !== undefined) {
    throw new MapperError('CONFIG_INVALID', 'a session has one user identity: set userName/password or userCertificate/userPrivateKey, not both', { device, field: 'protocol.configData.userCertificate' });
  }
  const userIdentity =
    userCertificate !== undefined && userPrivateKey !== undefined
      ? readUserIdentity(credentialFile(userCertificate, 'userCertificate', device, false), credentialFile(userPrivateKey, 'userPrivateKey', device, true), device)
      : undefined;
  const certificate = str(config, 'certificate', device);
  const privateKey = str(config, 'privateKey', device);
  if ((certificate === undefined) !== (privateKey === undefined)) {
    throw new MapperError('CONFIG_INVALID', 'certificate and privateKey go together', { device, field: `protocol.configData.${certificate === undefined ? 'certificate' : 'privateKey'}` });
  }
  for (const [key, file] of [['certificate', certificate], ['privateKey', privateKey]] as const) {
    if (file !== undefined && !existsSync(file)) throw new MapperError('CONFIG_INVALID', `file ${file} does not exist`, { device, field: `protocol.configData.${key}` });
  }
  // KubeEdge's `timeout` is in seconds
  const timeout = config['timeout'];
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    throw new MapperError('CONFIG_INVALID', 'timeout must be a positive number of seconds', { device, field: 'protocol.configData.timeout' });
  }
  const out: OpcUaProtocolConfig = { url, securityMode: securityMode as SecurityModeName, securityPolicy: securityPolicy as SecurityPolicyName, timeoutMs: typeof timeout === 'number' ? timeout * 1000 : 5000 };
  if (userName !== undefined) out.userName = userName;
  if (password !== undefined) out.password = password;
  if (certificate !== undefined) out.certificate = certificate;
  if (privateKey !== undefined) out.privateKey = privateKey;
  if (userIdentity !== undefined) out.userIdentity = userIdentity;
  const remote = str(config, 'remoteCertificate', device);
  if (remote !== undefined) {
    if (securityMode === 'None') {
      throw new MapperError('CONFIG_INVALID', 'a pinned server certificate needs securityMode Sign or SignAndEncrypt (None checks no certificate)', { device, field: 'protocol.configData.securityMode' });
    }
    try {
      out.remoteCertificate = Buffer.from(new X509Certificate(readFileSync(remote)).raw);
    } catch (error) {
      throw new MapperError('CONFIG_INVALID', `cannot read a certificate from ${remote}: ${(error as Error).message}`, { device, field: 'protocol.configData.remoteCertificate', cause: error });
    }
  }
  const pkiDir = str(config, 'pkiDir', device);
  if (pkiDir !== undefined) out.pkiDir = pkiDir;
  return out;
}

/** `ns=2;i=2`, `ns=1;s=Temperature`, `i=2258`, `ns=3;g=<guid>`, `ns=3;b=<base64>`; mappers-go's `ns=1,i=1005` typo form is accepted */
export function parseNodeId(configData: Record<string, unknown>, device: string, property: string): string {
  const raw = configData['nodeID'] ?? configData['nodeId'];
  const field = 'visitors.configData.nodeID';
  if (typeof raw !== 'string' || raw.trim() === '') throw new MapperError('CONFIG_INVALID', 'nodeID is missing', { device, property, field });
  const nodeId = raw.trim().replace(/^(ns=\d+),([isgb]=)/, '$1;$2');
  if (!/^(ns=\d+;)?[isgb]=.+$/.test(nodeId)) throw new MapperError('CONFIG_INVALID', `nodeID ${raw} is not an OPC UA node id (ns=<n>;i|s|g|b=<id>)`, { device, property, field });
  return nodeId;
}
