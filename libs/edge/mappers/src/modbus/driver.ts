// Modbus TCP/RTU driver on modbus-serial. Device protocol configData: `{slaveID, ip, port}` (or `tcp: {ip, port}`) for
// TCP, `{slaveID, serialPort, baudRate, dataBits, parity, stopBits}` (or `com: {...}`) for RTU; `timeoutMs`.
// Visitor configData: `{register, offset, limit, dataType, scale, valueOffset, isSwap, isRegisterSwap}`.
// modbus-serial is loaded on the first connect: it brings serialport and its native addon, which a gateway
// without Modbus devices should not map into memory.
import type ModbusRTU from 'modbus-serial';
import type { RawValue, ProtocolDriver } from '../driver';
import { MapperError } from '../errors';
import type { PropertyVisitor, PropertyType } from '../model';
import { DATA_TYPES, decodeRegisters, encodeValue, registerCount, type ModbusDataType } from './codec';

export type RegisterType = 'CoilRegister' | 'DiscreteInputRegister' | 'InputRegister' | 'HoldingRegister';
const REGISTERS: readonly RegisterType[] = ['CoilRegister', 'DiscreteInputRegister', 'InputRegister', 'HoldingRegister'];

export interface ModbusVisitor {
  register: RegisterType;
  offset: number;
  limit: number;
  dataType: ModbusDataType;
  scale: number;
  valueOffset: number;
  isSwap: boolean;
  isRegisterSwap: boolean;
}

export type ModbusTransport =
  | { kind: 'tcp'; ip: string; port: number }
  | { kind: 'rtu'; serialPort: string; baudRate: number; dataBits: number; parity: 'none' | 'even' | 'odd'; stopBits: number };

export interface ModbusProtocolConfig {
  transport: ModbusTransport;
  slaveID: number;
  timeoutMs: number;
}

const DEFAULT_TYPE: Record<PropertyType, ModbusDataType> = { int: 'int16', float: 'float32', double: 'float64', boolean: 'bool', string: 'string' };

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

export function parseModbusProtocol(config: Record<string, unknown>, device: string): ModbusProtocolConfig {
  const slaveID = num(config.slaveID) ?? 1;
  if (!Number.isInteger(slaveID) || slaveID < 0 || slaveID > 247) {
    throw new MapperError('CONFIG_INVALID', `slaveID ${String(config.slaveID)} is not 0..247`, { device, field: 'protocol.configData.slaveID' });
  }
  const timeoutMs = num(config.timeoutMs) ?? 2000;
  const tcp = { ...obj(config.tcp), ...(config.ip !== undefined ? { ip: config.ip, port: config.port } : {}) };
  const com = { ...obj(config.com), ...(config.serialPort !== undefined ? config : {}) };
  if (typeof tcp.ip === 'string') {
    const port = num(tcp.port) ?? 502;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new MapperError('CONFIG_INVALID', `port ${String(tcp.port)} is not 1..65535`, { device, field: 'protocol.configData.port' });
    }
    return { transport: { kind: 'tcp', ip: tcp.ip, port }, slaveID, timeoutMs };
  }
  if (typeof com.serialPort === 'string') {
    const parity = (com.parity ?? 'none') as string;
    if (!['none', 'even', 'odd'].includes(parity)) {
      throw new MapperError('CONFIG_INVALID', `parity ${parity}`, { device, field: 'protocol.configData.parity' });
    }
    return {
      transport: {
        kind: 'rtu',
        serialPort: com.serialPort,
        baudRate: num(com.baudRate) ?? 9600,
        dataBits: num(com.dataBits) ?? 8,
        parity: parity as 'none' | 'even' | 'odd',
        stopBits: num(com.stopBits) ?? 1,
      },
      slaveID,
      timeoutMs,
    };
  }
  throw new MapperError('CONFIG_INVALID', 'needs ip (TCP) or serialPort (RTU)', { device, field: 'protocol.configData' });
}

export function parseModbusVisitor(visitor: PropertyVisitor): ModbusVisitor {
  const c = visitor.configData;
  const ctx = (field: string) => ({ device: visitor.device, property: visitor.property.name, field: `visitors.configData.${field}` });
  const register = c.register as RegisterType;
  if (!REGISTERS.includes(register)) {
    throw new MapperError('UNKNOWN_REGISTER', `register ${String(c.register)} is not one of ${REGISTERS.join(', ')}`, ctx('register'));
  }
  const bits = register === 'CoilRegister' || register === 'DiscreteInputRegister';
  const dataType = (c.dataType ?? (bits ? 'bool' : DEFAULT_TYPE[visitor.property.type])) as ModbusDataType;
  if (!DATA_TYPES.includes(dataType)) throw new MapperError('UNSUPPORTED_TYPE', `dataType ${String(c.dataType)}`, ctx('dataType'));
  if (bits && dataType !== 'bool') throw new MapperError('UNSUPPORTED_TYPE', `${register} holds bits, not ${dataType}`, ctx('dataType'));
  const offset = num(c.offset);
  const limit = num(c.limit) ?? (bits ? 1 : registerCount(dataType, 1));
  if (offset === undefined || !Number.isInteger(offset) || offset < 0 || offset > 0xffff) {
    throw new MapperError('OFFSET_OUT_OF_RANGE', `offset ${String(c.offset)} is not 0..65535`, ctx('offset'));
  }
  const maxLimit = bits ? 2000 : 125;
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit || offset + limit > 0x10000) {
    throw new MapperError('OFFSET_OUT_OF_RANGE', `limit ${limit} at offset ${offset} is out of range (1..${maxLimit}, end ≤ 65536)`, ctx('limit'));
  }
  if (!bits && limit < registerCount(dataType, limit)) {
    throw new MapperError('CONFIG_INVALID', `${dataType} needs ${registerCount(dataType, limit)} registers, limit is ${limit}`, ctx('limit'));
  }
  const scale = num(c.scale) ?? 1;
  if (scale === 0) throw new MapperError('CONFIG_INVALID', 'scale must not be 0', ctx('scale'));
  return {
    register,
    offset,
    limit,
    dataType,
    scale,
    valueOffset: num(c.valueOffset) ?? 0,
    isSwap: c.isSwap === true || c.isSwap === 'true',
    isRegisterSwap: c.isRegisterSwap === true || c.isRegisterSwap === 'true',
  };
}

export class ModbusDriver implements ProtocolDriver {
  readonly protocolName = 'modbus';
  readonly config: ModbusProtocolConfig;
  private client: ModbusRTU | undefined;

  constructor(protocolConfig: Record<string, unknown>, private readonly device: string) {
    this.config = parseModbusProtocol(protocolConfig, device);
  }

  validate(visitor: PropertyVisitor): void {
    parseModbusVisitor(visitor);
  }

  async connect(): Promise<void> {
    await this.close();
    const { default: ModbusClient } = await import('modbus-serial');
    const client = new ModbusClient();
    client.on('error', () => undefined); // socket errors surface as rejected requests
    const t = this.config.transport;
    try {
      if (t.kind === 'tcp') await client.connectTCP(t.ip, { port: t.port });
      else await client.connectRTUBuffered(t.serialPort, { baudRate: t.baudRate, dataBits: t.dataBits, parity: t.parity, stopBits: t.stopBits });
    } catch (error) {
      client.close(() => undefined); // after a failed connect modbus-serial never calls back
      const where = t.kind === 'tcp' ? `${t.ip}:${t.port}` : t.serialPort;
      throw new MapperError('CONNECT_FAILED', `modbus ${t.kind} ${where}: ${(error as Error).message}`, { device: this.device, cause: error });
    }
    client.setID(this.config.slaveID);
    client.setTimeout(this.config.timeoutMs);
    this.client = client;
  }

  private connected(visitor: PropertyVisitor): ModbusRTU {
    if (!this.client || !this.client.isOpen) {
      throw new MapperError('NOT_CONNECTED', 'modbus connection is not open', { device: this.device, property: visitor.property.name });
    }
    return this.client;
  }

  private ioError(error: unknown, visitor: PropertyVisitor, what: string): MapperError {
    if (error instanceof MapperError) return error;
    const e = error as { message?: string; modbusCode?: number };
    // a Modbus exception response means the link works but the request was refused (e.g. illegal address)
    const code = typeof e.modbusCode === 'number' ? 'VALUE_INVALID' : 'IO_FAILED';
    return new MapperError(code, `${what}: ${e.message ?? String(error)}`, { device: this.device, property: visitor.property.name, cause: error });
  }

  async read(visitor: PropertyVisitor): Promise<RawValue> {
    const v = parseModbusVisitor(visitor);
    const client = this.connected(visitor);
    try {
      switch (v.register) {
        case 'CoilRegister':
          return (await client.readCoils(v.offset, v.limit)).data[0] === true;
        case 'DiscreteInputRegister':
          return (await client.readDiscreteInputs(v.offset, v.limit)).data[0] === true;
        case 'InputRegister':
          return decodeRegisters((await client.readInputRegisters(v.offset, v.limit)).data, v);
        case 'HoldingRegister':
          return decodeRegisters((await client.readHoldingRegisters(v.offset, v.limit)).data, v);
      }
    } catch (error) {
      throw this.ioError(error, visitor, `read ${v.register} ${v.offset}`);
    }
  }

  async write(visitor: PropertyVisitor, value: RawValue): Promise<void> {
    const v = parseModbusVisitor(visitor);
    if (v.register === 'InputRegister' || v.register === 'DiscreteInputRegister') {
      throw new MapperError('NOT_WRITABLE', `${v.register} is read-only in Modbus`, { device: this.device, property: visitor.property.name, field: 'visitors.configData.register' });
    }
    let words: number[] = [];
    if (v.register === 'HoldingRegister') {
      try {
        words = encodeValue(value, v);
      } catch (error) {
        throw new MapperError('VALUE_INVALID', (error as Error).message, { device: this.device, property: visitor.property.name, cause: error });
      }
    }
    const client = this.connected(visitor);
    try {
      if (v.register === 'CoilRegister') await client.writeCoil(v.offset, value === true || value === 'true' || value === 1);
      else if (words.length === 1) await client.writeRegister(v.offset, words[0] ?? 0);
      else await client.writeRegisters(v.offset, words);
    } catch (error) {
      throw this.ioError(error, visitor, `write ${v.register} ${v.offset}`);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}
