import { afterEach, describe, expect, it } from 'vitest';
import { Cleanup, requires, waitFor } from '@kedge/testkit';
import { MapperError, ModbusDriver, encodeValue, type ModelProperty, type PropertyVisitor } from '../src/index';
import { emptyTables, startModbusServer, startPymodbus } from './helpers';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const DEV = 'default/plc';

function visitor(type: ModelProperty['type'], configData: Record<string, unknown>, accessMode: ModelProperty['accessMode'] = 'ReadWrite'): PropertyVisitor {
  return { device: DEV, property: { name: 'p', type, accessMode }, protocolName: 'modbus', configData };
}

async function connected(port: number): Promise<ModbusDriver> {
  const driver = new ModbusDriver({ slaveID: 1, ip: '127.0.0.1', port, timeoutMs: 2000 }, DEV);
  await driver.connect();
  cleanup.add(() => driver.close());
  return driver;
}

/** each data type at its own offset, with swaps and scale, in the layout both peers serve */
const CASES: { name: string; type: ModelProperty['type']; config: Record<string, unknown>; value: number | boolean | string }[] = [
  { name: 'int16 scaled', type: 'float', config: { dataType: 'int16', scale: 0.1 }, value: -12.3 },
  { name: 'uint16 byte-swapped', type: 'int', config: { dataType: 'uint16', isSwap: true }, value: 0xbeef },
  { name: 'int32 word-swapped', type: 'int', config: { dataType: 'int32', isRegisterSwap: true }, value: -123456 },
  { name: 'uint32 both swaps', type: 'int', config: { dataType: 'uint32', isSwap: true, isRegisterSwap: true }, value: 3_000_000_000 },
  { name: 'float32 with offset', type: 'float', config: { dataType: 'float32', valueOffset: 100 }, value: 121.5 },
  { name: 'float64', type: 'double', config: { dataType: 'float64' }, value: 6.02214076e23 },
  { name: 'string', type: 'string', config: { dataType: 'string', limit: 3 }, value: 'kedge' },
  { name: 'bool in a register', type: 'boolean', config: { dataType: 'bool' }, value: true },
];

function layout(): { words: Record<number, number>; at: Map<string, number> } {
  const words: Record<number, number> = {};
  const at = new Map<string, number>();
  let offset = 10;
  for (const c of CASES) {
    const w = encodeValue(c.value, { dataType: c.config.dataType as never, ...c.config } as never);
    at.set(c.name, offset);
    w.forEach((x, i) => (words[offset + i] = x));
    offset += w.length + 1;
  }
  return { words, at };
}

function expectValue(actual: unknown, expected: number | boolean | string): void {
  if (typeof expected === 'number') expect(actual as number).toBeCloseTo(expected, 5);
  else expect(actual).toBe(expected);
}

describe('modbus tcp against modbus-serial ServerTCP', () => {
  it('modbus tcp - reads every data type from holding and input registers with swaps and scale', async () => {
    const tables = emptyTables();
    const { words, at } = layout();
    for (const [a, w] of Object.entries(words)) {
      tables.hr[Number(a)] = w;
      tables.ir[Number(a)] = w;
    }
    const server = await startModbusServer(tables);
    cleanup.add(() => server.stop());
    const driver = await connected(server.port);
    for (const c of CASES) {
      for (const register of ['HoldingRegister', 'InputRegister']) {
        const v = visitor(c.type, { register, offset: at.get(c.name), ...c.config });
        expectValue(await driver.read(v), c.value);
      }
    }
  });

  it('modbus tcp - reads coils and discrete inputs, writes coils and holding registers', async () => {
    const tables = emptyTables();
    tables.di[4] = true;
    const server = await startModbusServer(tables);
    cleanup.add(() => server.stop());
    const driver = await connected(server.port);
    expect(await driver.read(visitor('boolean', { register: 'DiscreteInputRegister', offset: 4 }))).toBe(true);
    expect(await driver.read(visitor('boolean', { register: 'CoilRegister', offset: 7 }))).toBe(false);
    await driver.write(visitor('boolean', { register: 'CoilRegister', offset: 7 }), true);
    expect(tables.co[7]).toBe(true);
    expect(await driver.read(visitor('boolean', { register: 'CoilRegister', offset: 7 }))).toBe(true);
    await driver.write(visitor('float', { register: 'HoldingRegister', offset: 3, dataType: 'uint16', scale: 0.1 }), 22.5);
    expect(tables.hr[3]).toBe(225);
    await driver.write(visitor('int', { register: 'HoldingRegister', offset: 20, dataType: 'int32', isRegisterSwap: true }), 70000);
    expect(await driver.read(visitor('int', { register: 'HoldingRegister', offset: 20, dataType: 'int32', isRegisterSwap: true }))).toBe(70000);
  });

  it('modbus tcp - writes to input registers are refused with a typed error', async () => {
    const server = await startModbusServer(emptyTables());
    cleanup.add(() => server.stop());
    const driver = await connected(server.port);
    await expect(driver.write(visitor('int', { register: 'InputRegister', offset: 1 }), 5)).rejects.toMatchObject({ code: 'NOT_WRITABLE' });
    await expect(driver.write(visitor('int', { register: 'HoldingRegister', offset: 1, dataType: 'uint16' }), -5)).rejects.toMatchObject({ code: 'VALUE_INVALID' });
  });

  it('modbus tcp - connecting to a closed port fails with CONNECT_FAILED naming the device', async () => {
    const server = await startModbusServer(emptyTables());
    await server.stop();
    const driver = new ModbusDriver({ slaveID: 1, ip: '127.0.0.1', port: server.port }, DEV);
    const error = await driver.connect().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MapperError);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', device: DEV });
    await expect(driver.read(visitor('int', { register: 'HoldingRegister', offset: 0 }))).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it('modbus rtu - a missing serial port fails with CONNECT_FAILED, never a crash', async () => {
    const driver = new ModbusDriver({ slaveID: 3, serialPort: '/dev/kedge-no-such-tty', baudRate: 19200, parity: 'even' }, DEV);
    expect(driver.config.transport).toMatchObject({ kind: 'rtu', baudRate: 19200, parity: 'even' });
    await expect(driver.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED', device: DEV });
  });
});

const pymodbus = await requires('pymodbus');

pymodbus.describe('modbus tcp against pymodbus (independent peer)', () => {
  it('modbus tcp - reads every data type from a pymodbus datastore with swaps and scale', async () => {
    const { words, at } = layout();
    const peer = await startPymodbus({ hr: words, ir: words, co: { 5: 1 }, di: { 6: 1 } });
    cleanup.add(() => peer.stop());
    const driver = await connected(peer.port);
    for (const c of CASES) {
      for (const register of ['HoldingRegister', 'InputRegister']) {
        expectValue(await driver.read(visitor(c.type, { register, offset: at.get(c.name), ...c.config })), c.value);
      }
    }
    expect(await driver.read(visitor('boolean', { register: 'CoilRegister', offset: 5 }))).toBe(true);
    expect(await driver.read(visitor('boolean', { register: 'DiscreteInputRegister', offset: 6 }))).toBe(true);
  });

  it('modbus tcp - a holding-register and coil write changes the pymodbus peer', async () => {
    const peer = await startPymodbus({ hr: { 2: 100 } });
    cleanup.add(() => peer.stop());
    const driver = await connected(peer.port);
    const hr = visitor('float', { register: 'HoldingRegister', offset: 2, dataType: 'uint16', scale: 0.5 });
    expect(await driver.read(hr)).toBe(50);
    await driver.write(hr, 21);
    await waitFor(() => peer.sets.includes('SET hr 2 42'), `pymodbus logs 'SET hr 2 42'`, { timeoutMs: 15_000, onTimeout: peer.log });
    await driver.write(visitor('int', { register: 'HoldingRegister', offset: 8, dataType: 'uint32' }), 0x12345678);
    const wide = `SET hr 8 ${0x1234} ${0x5678}`;
    await waitFor(() => peer.sets.includes(wide), `pymodbus logs ${wide}`, { timeoutMs: 15_000, onTimeout: peer.log });
    await driver.write(visitor('boolean', { register: 'CoilRegister', offset: 9 }), true);
    await waitFor(() => peer.sets.includes('SET co 9 1'), `pymodbus logs 'SET co 9 1'`, { timeoutMs: 15_000, onTimeout: peer.log });
    expect(await driver.read(hr)).toBe(21);
  });
});

describe('modbus - loading', () => {
  it('importing @kedge/mappers and configuring a Modbus device does not load modbus-serial or serialport; connecting does', async () => {
    const { spawnSync } = await import('node:child_process');
    const probe = [
      "const { createRequire } = await import('node:module');",
      "const { ModbusDriver } = await import('@kedge/mappers');",
      "const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules\\/(modbus-serial|serialport|@serialport)\\//.test(k)).length > 0;",
      "const driver = new ModbusDriver({ slaveID: 1, ip: '127.0.0.1', port: 1, timeoutMs: 500 }, 'default/meter');",
      'const before = loaded();',
      'await driver.connect().catch(() => undefined);',
      'await driver.close();',
      'console.log(JSON.stringify({ before, after: loaded() }));',
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8', cwd: process.cwd() });
    expect(result.status, result.stderr).toBe(0);
    const line = result.stdout.split('\n').find((l) => l.startsWith('{"before"'));
    expect(line, result.stdout).toBeDefined();
    expect(JSON.parse(line ?? '{}')).toEqual({ before: false, after: true });
  });
});
