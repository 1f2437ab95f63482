// The device side of the device-fleet benchmark: a Modbus "plant" (one modbus-serial ServerTCP whose holding
// registers all take a new value every cycle, counting the reads it serves) and the window that counts reads, the
// values that arrived and their lag from the change, and the benchmark process's CPU.
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import ModbusRTU from 'modbus-serial';
import { freePort } from '@kedge/testkit';
import { progress, sleep, summarizeLatencies, type LatencySummary } from './bench-kit';

export const CYCLE_MS = 1000;

const { ServerTCP } = ModbusRTU as unknown as { ServerTCP: new (vector: object, options: object) => ModbusServer };

interface ModbusServer {
  on(event: string, listener: (...args: unknown[]) => void): void;
  close(callback: () => void): void;
  socks: Map<net.Socket, unknown>;
}

/** the plant: every register holds the current tick; reads are counted as the device sees them */
export class Plant {
  readonly registers: number[];
  reads = 0;
  tick = 0;
  /** tick → when the registers took it */
  readonly setAt = new Map<number, number>();
  private server: ModbusServer | undefined;
  port = 0;

  constructor(size: number) {
    this.registers = Array<number>(size).fill(0);
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = new ServerTCP(
      {
        getHoldingRegister: (addr: number) => {
          this.reads += 1;
          return this.registers[addr] ?? 0;
        },
        getInputRegister: () => 0,
        getCoil: () => false,
        getDiscreteInput: () => false,
        setRegister: () => undefined,
        setCoil: () => undefined,
      },
      { host: '127.0.0.1', port: this.port, unitID: 1 },
    );
    this.server.on('socketError', () => undefined);
    await new Promise<void>((resolve) => this.server?.on('initialized', () => resolve()));
  }

  /** the next value everywhere at once (1..30000, an int16) */
  step(): number {
    this.tick = (this.tick % 30_000) + 1;
    this.registers.fill(this.tick);
    this.setAt.set(this.tick, performance.now());
    return this.tick;
  }

  async close(): Promise<void> {
    if (this.server === undefined) return;
    for (const socket of this.server.socks.keys()) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Seconds of CPU (user + system) a Linux process has used, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}


export interface Window {
  /** failed reads (baseline only; the mapper counts its own in kedge_mapper_faults_total) */
  errors?: number;
  reads: number;
  values: number;
  lags: LatencySummary;
  seconds: number;
  benchCpu: number;
}

/** Counts the plant's reads, the values seen and their lags between `start` and `stop` of a window. */
export class WindowCounter {
  private lags: number[] = [];
  private values = 0;
  private reads0 = 0;
  private cpu0 = process.cpuUsage();
  private started = 0;
  open = false;

  constructor(private readonly plant: Plant) {}

  start(): void {
    this.lags = [];
    this.values = 0;
    this.reads0 = this.plant.reads;
    this.cpu0 = process.cpuUsage();
    this.started = performance.now();
    this.open = true;
  }

  /** a value of tick `tick` arrived now */
  seen(tick: number): void {
    if (!this.open) return;
    const at = this.plant.setAt.get(tick);
    if (at === undefined) return;
    this.values += 1;
    this.lags.push(performance.now() - at);
  }

  stop(): Window {
    this.open = false;
    const seconds = (performance.now() - this.started) / 1000;
    const cpu = process.cpuUsage(this.cpu0);
    return { reads: this.plant.reads - this.reads0, values: this.values, lags: summarizeLatencies(this.lags), seconds, benchCpu: (cpu.user + cpu.system) / 1e6 };
  }
}

/** Steps the plant every cycle for `seconds`, with the counter's window open. */
export async function measure(plant: Plant, counter: WindowCounter, seconds: number, label: string): Promise<Window> {
  counter.start();
  const until = performance.now() + seconds * 1000;
  let next = performance.now();
  while (performance.now() < until) {
    plant.step();
    next += CYCLE_MS;
    await sleep(Math.max(0, next - performance.now()));
    if (Math.round((until - performance.now()) / 1000) % 10 === 0) progress(`${label}: ${Math.round((until - performance.now()) / 1000)} s left`);
  }
  return counter.stop();
}
