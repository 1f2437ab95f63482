// The node's own CPU and memory, as the kubelet reports them for the root container:
// - CPU: cumulative ns of the root cgroup (cgroup v1 `cpuacct/cpuacct.usage`, v2 `cpu.stat` usage_usec),
//   else the busy jiffies of /proc/stat's `cpu` line (everything but idle and iowait).
// - memory: the root cgroup on cgroup v1 (`memory.usage_in_bytes`, `memory.stat` total_inactive_file and
//   total_rss), else /proc/meminfo (MemTotal − MemFree, Inactive(file), AnonPages); working set is
//   usage − inactive file pages, as the kubelet computes it; available is MemTotal − working set.
// - start time: the boot time (`btime` in /proc/stat).
// The readers take the roots as options so tests feed them files of their own.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpuStats, MemoryStats } from './summary';

export interface NodeUsageSources {
  /** default /proc */
  procRoot?: string;
  /** default /sys/fs/cgroup */
  cgroupRoot?: string;
  /** USER_HZ of /proc/stat; Linux reports 100 on every architecture */
  clockTicksPerSecond?: number;
}

export interface NodeUsage {
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export class NodeUsageParseError extends Error {
  override readonly name = 'NodeUsageParseError';
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function nonNegativeInteger(text: string, file: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new NodeUsageParseError(file, `${what} is not a non-negative integer: ${JSON.stringify(trimmed.slice(0, 40))}`);
  return Number(trimmed);
}

/** `key value` lines (memory.stat, cpu.stat) as a map; other lines are ignored. */
export function parseKeyValueLines(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (match) values.set(match[1] as string, Number(match[2]));
  }
  return values;
}

/** /proc/meminfo in bytes (`MemTotal:  24683772 kB`). */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (match) values.set(match[1] as string, Number(match[2]) * (line.trim().endsWith('kB') ? 1024 : 1));
  }
  return values;
}

/** Busy CPU time from /proc/stat's aggregate `cpu` line, in ns, and the boot time in seconds. */
export function parseProcStat(text: string, clockTicksPerSecond: number, file = '/proc/stat'): { busyNanoSeconds: number; bootTimeSeconds: number } {
  const cpuLine = text.split('\n').find((line) => line.startsWith('cpu '));
  if (cpuLine === undefined) throw new NodeUsageParseError(file, 'no aggregate "cpu" line');
  const fields = cpuLine.trim().split(/\s+/).slice(1).map((field) => nonNegativeInteger(field, file, 'a cpu field'));
  if (fields.length < 4) throw new NodeUsageParseError(file, `the cpu line has ${fields.length} fields, expected at least 4`);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  const busyTicks = user + nice + system + irq + softirq + steal;
  const btime = /^btime\s+(\d+)$/m.exec(text);
  if (!btime) throw new NodeUsageParseError(file, 'no btime line');
  return { busyNanoSeconds: (busyTicks * 1e9) / clockTicksPerSecond, bootTimeSeconds: Number(btime[1]) };
}

export class NodeUsageReader {
  private readonly procRoot: string;
  private readonly cgroupRoot: string;
  private readonly clockTicks: number;

  constructor(sources: NodeUsageSources = {}) {
    this.procRoot = sources.procRoot ?? '/proc';
    this.cgroupRoot = sources.cgroupRoot ?? '/sys/fs/cgroup';
    this.clockTicks = sources.clockTicksPerSecond ?? 100;
  }

  /** @throws NodeUsageParseError when /proc/stat or /proc/meminfo cannot be read or parsed */
  async read(now: Date = new Date()): Promise<NodeUsage> {
    const time = now.toISOString();
    const statFile = join(this.procRoot, 'stat');
    const statText = await readOptional(statFile);
    if (statText === undefined) throw new NodeUsageParseError(statFile, 'cannot be read');
    const procStat = parseProcStat(statText, this.clockTicks, statFile);
    const usage: NodeUsage = { startTime: new Date(procStat.bootTimeSeconds * 1000).toISOString() };
    usage.cpu = { time, usageCoreNanoSeconds: Math.round((await this.rootCgroupCpuNanos()) ?? procStat.busyNanoSeconds) };
    usage.memory = await this.memory(time);
    return usage;
  }

  private async rootCgroupCpuNanos(): Promise<number | undefined> {
    const v1File = join(this.cgroupRoot, 'cpuacct', 'cpuacct.usage');
    const v1 = await readOptional(v1File);
    if (v1 !== undefined) return nonNegativeInteger(v1, v1File, 'the usage');
    const v2 = await readOptional(join(this.cgroupRoot, 'cpu.stat'));
    const usec = v2 === undefined ? undefined : parseKeyValueLines(v2).get('usage_usec');
    return usec === undefined ? undefined : usec * 1000;
  }

  private async memory(time: string): Promise<MemoryStats> {
    const meminfoFile = join(this.procRoot, 'meminfo');
    const meminfoText = await readOptional(meminfoFile);
    if (meminfoText === undefined) throw new NodeUsageParseError(meminfoFile, 'cannot be read');
    const meminfo = parseMeminfo(meminfoText);
    const total = meminfo.get('MemTotal');
    if (total === undefined) throw new NodeUsageParseError(meminfoFile, 'no MemTotal line');
    const usageFile = join(this.cgroupRoot, 'memory', 'memory.usage_in_bytes');
    const v1Usage = await readOptional(usageFile);
    const v1Stat = await readOptional(join(this.cgroupRoot, 'memory', 'memory.stat'));
    let usageBytes: number;
    let inactiveFile: number;
    let rssBytes: number | undefined;
    if (v1Usage !== undefined && v1Stat !== undefined) {
      const stat = parseKeyValueLines(v1Stat);
      usageBytes = nonNegativeInteger(v1Usage, usageFile, 'the usage');
      inactiveFile = stat.get('total_inactive_file') ?? 0;
      rssBytes = stat.get('total_rss');
    } else {
      usageBytes = total - (meminfo.get('MemFree') ?? 0);
      inactiveFile = meminfo.get('Inactive(file)') ?? 0;
      rssBytes = meminfo.get('AnonPages');
    }
    const workingSetBytes = Math.max(0, usageBytes - inactiveFile);
    const memory: MemoryStats = { time, usageBytes, workingSetBytes, availableBytes: Math.max(0, total - workingSetBytes) };
    if (rssBytes !== undefined) memory.rssBytes = rssBytes;
    return memory;
  }
}
