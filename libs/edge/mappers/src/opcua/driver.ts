// OPC UA driver (node-opcua-client): one client and session per device. Properties are read by monitored items
// of one subscription (the runner falls back to polling when the server refuses subscriptions); ReadWrite
// properties are written in the node's own DataType. node-opcua's own reconnection is off: a lost connection is
// reported to the runner, which closes the driver and connects afresh, so a restarted server gets a new session.
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type {
  DataType} from 'node-opcua-client';
import {
  AttributeIds,
  type ClientSubscription,
  MessageSecurityMode,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
} from 'node-opcua-client';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import type { ProtocolDriver, RawValue } from '../driver';
import { MapperError } from '../errors';
import type { PropertyVisitor } from '../model';
import { parseNodeId, parseOpcUaProtocol, type OpcUaProtocolConfig } from './config';
import { fromVariant, toVariant } from './variant';

/** status codes that mean the user's identity was refused: not worth a fast retry, and worth saying so */
const AUTH_STATUS = /BadUserAccessDenied|BadIdentityTokenRejected|BadIdentityTokenInvalid|BadUserSignatureInvalid|BadCertificate/;

/** What the host decides for every OPC UA device: where the client PKI lives when the Device names no pkiDir. */
export interface OpcUaDriverDefaults {
  pkiDir?: string;
}

export class OpcUaDriver implements ProtocolDriver {
  readonly protocolName = 'opcua';
  readonly config: OpcUaProtocolConfig;
  private client: OPCUAClient | undefined;
  private session: ClientSession | undefined;
  private subscription: ClientSubscription | undefined;
  private certificates: OPCUACertificateManager | undefined;
  private readonly dataTypes = new Map<string, DataType>();
  private readonly lostListeners = new Set<(error: MapperError) => void>();
  private lost: MapperError | undefined;

  constructor(
    protocolConfig: Record<string, unknown>,
    private readonly device: string,
    private readonly defaults: OpcUaDriverDefaults = {},
  ) {
    this.config = parseOpcUaProtocol(protocolConfig, device);
  }

  validate(visitor: PropertyVisitor): void {
    parseNodeId(visitor.configData, this.device, visitor.property.name);
  }

  /** OPC UA pushes by default; `subscribe: false` in a visitor asks for polling every collectCycle */
  subscribes(visitor: PropertyVisitor): boolean {
    return visitor.configData['subscribe'] !== false;
  }

  onConnectionLost(listener: (error: MapperError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  private markLost(reason: string): void {
    if (this.lost || !this.session) return;
    this.lost = new MapperError('IO_FAILED', `connection to ${this.config.url} lost: ${reason}`, { device: this.device });
    for (const listener of this.lostListeners) listener(this.lost);
  }

  private identity(): UserIdentityInfo {
    if (this.config.userName !== undefined) return { type: UserTokenType.UserName, userName: this.config.userName, password: this.config.password ?? '' };
    const user = this.config.userIdentity;
    if (user !== undefined) return { type: UserTokenType.Certificate, certificateData: user.certificateDer, privateKey: user.privateKeyPem };
    return { type: UserTokenType.Anonymous };
  }

  /**
   * The PKI folder holds the client's private key and the server certificates it trusts. mkdirSync leaves an existing
   * folder as it is, so one somebody else created (in /tmp, say) is refused rather than used.
   */
  private checkPrivateFolder(folder: string): void {
    const stat = statSync(folder);
    const uid = process.getuid?.();
    if ((uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
      throw new MapperError(
        'CONFIG_INVALID',
        `protocol.configData.pkiDir: ${folder} must be a directory owned by this user with mode 0700 (it is ${(stat.mode & 0o777).toString(8)}, owner ${stat.uid}); fix it or point pkiDir elsewhere`,
        { device: this.device, field: 'protocol.configData.pkiDir' },
      );
    }
  }

  async connect(): Promise<void> {
    await this.close();
    this.lost = undefined;
    const { url, securityMode, securityPolicy, certificate, privateKey, timeoutMs } = this.config;
    // node-opcua keeps a client PKI (its own certificate and key, trusted server certificates): the Device's pkiDir,
    // else the host's (edgecore: <dataDir>/opcua-pki), else ~/.kedge/opcua-pki for a standalone mapper
    const rootFolder = this.config.pkiDir ?? this.defaults.pkiDir ?? path.join(homedir(), '.kedge', 'opcua-pki');
    mkdirSync(rootFolder, { recursive: true, mode: 0o700 });
    this.checkPrivateFolder(rootFolder);
    this.certificates = new OPCUACertificateManager({ rootFolder, automaticallyAcceptUnknownCertificate: true });
    const client = OPCUAClient.create({
      applicationName: 'kedge-mapper',
      endpointMustExist: false,
      securityMode: MessageSecurityMode[securityMode],
      securityPolicy: SecurityPolicy[securityPolicy],
      ...(certificate !== undefined && privateKey !== undefined ? { certificateFile: certificate, privateKeyFile: privateKey } : {}),
      clientCertificateManager: this.certificates,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      requestedSessionTimeout: 60_000,
      transportTimeout: timeoutMs,
      keepSessionAlive: true,
    });
    this.client = client;
    client.on('connection_lost', () => this.markLost('connection_lost'));
    client.on('close', () => this.markLost('closed'));
    client.on('backoff', () => this.markLost('reconnecting'));
    try {
      await client.connect(url);
    } catch (error) {
      await this.close();
      throw new MapperError('CONNECT_FAILED', `cannot reach ${url}: ${(error as Error).message}`, { device: this.device, field: 'protocol.configData.url', cause: error });
    }
    // pinning: checked on the open channel, before the session sends any credential
    const pinned = this.config.remoteCertificate;
    if (pinned !== undefined) {
      const presented = client.serverCertificate;
      const leaf = Array.isArray(presented) ? presented[0] : presented;
      // a chain is the leaf's DER followed by the issuers'; DER is self-delimiting, so a prefix match is the leaf
      if (leaf === undefined || !Buffer.from(leaf).subarray(0, pinned.length).equals(pinned)) {
        await this.close();
        throw new MapperError('AUTH_FAILED', `${url} presented a certificate other than remoteCertificate; no credentials were sent`, { device: this.device, field: 'protocol.configData.remoteCertificate' });
      }
    }
    try {
      this.session = await client.createSession(this.identity());
    } catch (error) {
      await this.close();
      const message = (error as Error).message;
      if (AUTH_STATUS.test(message)) {
        const user = this.config.userIdentity;
        const who = this.config.userName !== undefined ? `user ${this.config.userName}` : user !== undefined ? `the user certificate ${user.certificateFile}` : 'anonymous access';
        throw new MapperError('AUTH_FAILED', `${url} refused ${who}: ${message.split('\n')[0] ?? message}`, {
          device: this.device,
          field: this.config.userName !== undefined ? 'protocol.configData.password' : user !== undefined ? 'protocol.configData.userCertificate' : 'protocol.configData.userName',
          cause: error,
        });
      }
      throw new MapperError('CONNECT_FAILED', `cannot open a session on ${url}: ${message}`, { device: this.device, cause: error });
    }
    this.session.on('session_closed', () => this.markLost('session closed'));
    this.session.on('keepalive_failure', () => this.markLost('keep-alive failed'));
  }

  private live(visitor: PropertyVisitor): ClientSession {
    if (this.lost) throw this.lost;
    if (!this.session) throw new MapperError('NOT_CONNECTED', 'no OPC UA session', { device: this.device, property: visitor.property.name });
    return this.session;
  }

  private checkStatus(dataValue: DataValue, visitor: PropertyVisitor, what: string): void {
    if (dataValue.statusCode.isGood()) return;
    throw new MapperError('IO_FAILED', `${what} ${String(visitor.configData['nodeID'])}: ${dataValue.statusCode.name}`, {
      device: this.device,
      property: visitor.property.name,
      field: 'visitors.configData.nodeID',
    });
  }

  /** node-level refusals (unknown node, no access) are property faults, not a lost connection */
  private propertyError(error: unknown, visitor: PropertyVisitor, what: string): MapperError {
    if (error instanceof MapperError) return error;
    if (this.lost) return this.lost;
    return new MapperError('IO_FAILED', `${what}: ${(error as Error).message}`, { device: this.device, property: visitor.property.name, cause: error });
  }

  async read(visitor: PropertyVisitor): Promise<RawValue> {
    const session = this.live(visitor);
    const nodeId = parseNodeId(visitor.configData, this.device, visitor.property.name);
    let dataValue: DataValue;
    try {
      dataValue = await session.read({ nodeId, attributeId: AttributeIds.Value });
    } catch (error) {
      throw this.propertyError(error, visitor, `read ${nodeId}`);
    }
    if (dataValue.statusCode.name === 'BadNodeIdUnknown' || dataValue.statusCode.name === 'BadNotReadable') {
      throw new MapperError('CONFIG_INVALID', `node ${nodeId}: ${dataValue.statusCode.name}`, { device: this.device, property: visitor.property.name, field: 'visitors.configData.nodeID' });
    }
    this.checkStatus(dataValue, visitor, 'read');
    return fromVariant(dataValue.value, visitor);
  }

  private async dataTypeOf(session: ClientSession, nodeId: string, visitor: PropertyVisitor): Promise<DataType> {
    const known = this.dataTypes.get(nodeId);
    if (known !== undefined) return known;
    const dataValue = await session.read({ nodeId, attributeId: AttributeIds.Value });
    this.checkStatus(dataValue, visitor, 'read the type of');
    this.dataTypes.set(nodeId, dataValue.value.dataType);
    return dataValue.value.dataType;
  }

  async write(visitor: PropertyVisitor, value: RawValue): Promise<void> {
    if (visitor.property.accessMode !== 'ReadWrite') {
      throw new MapperError('NOT_WRITABLE', 'property is ReadOnly in the model', { device: this.device, property: visitor.property.name, field: 'accessMode' });
    }
    const session = this.live(visitor);
    const nodeId = parseNodeId(visitor.configData, this.device, visitor.property.name);
    let status;
    try {
      const dataType = await this.dataTypeOf(session, nodeId, visitor);
      status = await session.write({ nodeId, attributeId: AttributeIds.Value, value: { value: toVariant(value, dataType, visitor) } });
    } catch (error) {
      throw this.propertyError(error, visitor, `write ${nodeId}`);
    }
    if (!status.isGood()) {
      throw new MapperError(status.name === 'BadNotWritable' || status.name === 'BadUserAccessDenied' ? 'NOT_WRITABLE' : 'IO_FAILED', `write ${nodeId}: ${status.name}`, {
        device: this.device,
        property: visitor.property.name,
        field: 'visitors.configData.nodeID',
      });
    }
  }

  async subscribe(visitor: PropertyVisitor, listener: (value: RawValue) => void, options: { intervalMs?: number; onError?: (error: MapperError) => void } = {}): Promise<() => Promise<void>> {
    const session = this.live(visitor);
    const nodeId = parseNodeId(visitor.configData, this.device, visitor.property.name);
    const intervalMs = options.intervalMs ?? 1000;
    try {
      this.subscription ??= await session.createSubscription2({
        requestedPublishingInterval: Math.min(intervalMs, 1000),
        requestedLifetimeCount: 60,
        requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 1,
      });
      const item = await this.subscription.monitor({ nodeId, attributeId: AttributeIds.Value }, { samplingInterval: intervalMs, discardOldest: true, queueSize: 1 }, TimestampsToReturn.Both);
      item.on('changed', (dataValue: DataValue) => {
        try {
          this.checkStatus(dataValue, visitor, 'monitored item');
          listener(fromVariant(dataValue.value, visitor));
        } catch (error) {
          options.onError?.(error as MapperError);
        }
      });
      return async () => {
        await item.terminate().catch(() => undefined);
      };
    } catch (error) {
      throw error instanceof MapperError ? error : new MapperError('UNSUPPORTED_TYPE', `cannot monitor ${nodeId}: ${(error as Error).message}`, { device: this.device, property: visitor.property.name, cause: error });
    }
  }

  async close(): Promise<void> {
    const { client, session, subscription, certificates } = this;
    this.client = undefined;
    this.session = undefined;
    this.subscription = undefined;
    this.certificates = undefined;
    this.dataTypes.clear();
    await subscription?.terminate().catch(() => undefined);
    await session?.close().catch(() => undefined);
    await client?.disconnect().catch(() => undefined);
    await certificates?.dispose().catch(() => undefined);
  }
}
