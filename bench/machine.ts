// What the benchmark ran on, read from the machine (never hard-coded).
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  /** Last-level cache in bytes (sysfs; lscpu as a fallback), or undefined if unknown. */
  llcBytes?: number;
  llcLevel?: number;
  llcSource: string;
  memTotalBytes: number;
  memAvailableBytes: number;
  cpuFlags: string[];
  kernel: string;
  node: string;
  date: string;
  hypervisor?: string;
  /** Transparent huge pages: always, madvise or never (Linux), or undefined. */
  thp?: string;
}

function parseSize(s: string): number | undefined {
  const m = /^\s*([\d.]+)\s*([KMG]?)(i?B)?/i.exec(s);
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(parseFloat(m[1]) * unit);
}

/** The largest data or unified cache of cpu0, from sysfs. */
function llcFromSysfs(): { bytes: number; level: number } | undefined {
  const dir = '/sys/devices/system/cpu/cpu0/cache';
  let best: { bytes: number; level: number } | undefined;
  try {
    for (const idx of fs.readdirSync(dir).filter((d) => d.startsWith('index'))) {
      const read = (f: string) => fs.readFileSync(`${dir}/${idx}/${f}`, 'utf8').trim();
      if (read('type') === 'Instruction') continue;
      const level = Number(read('level'));
      const bytes = parseSize(read('size'));
      if (bytes !== undefined && (!best || level > best.level)) best = { bytes, level };
    }
  } catch {
    return undefined;
  }
  return best;
}

function llcFromLscpu(): { bytes: number; level: number } | undefined {
  try {
    const out = require('node:child_process').execFileSync('lscpu', { encoding: 'utf8' }) as string;
    for (const level of [4, 3, 2]) {
      const m = new RegExp(`^L${level} cache:\\s*(.+)$`, 'm').exec(out);
      const bytes = m ? parseSize(m[1]) : undefined;
      if (bytes) return { bytes, level };
    }
  } catch {
    /* no lscpu */
  }
  return undefined;
}

function meminfo(key: string): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s*(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The bracketed mode of /sys/kernel/mm/transparent_hugepage/enabled, e.g. "always [madvise] never". */
function thpMode(): string | undefined {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1];
  } catch {
    return undefined; // not Linux, or THP compiled out
  }
}

export function readMachine(): Machine {
  let flags: string[] = [];
  let hypervisor: string | undefined;
  try {
    const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
    flags = (/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? /^Features\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/);
    if (flags.includes('hypervisor')) hypervisor = 'yes';
  } catch {
    /* not Linux */
  }
  const sys = llcFromSysfs();
  const llc = sys ?? llcFromLscpu();
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    llcBytes: llc?.bytes,
    llcLevel: llc?.level,
    llcSource: sys ? 'sysfs' : llc ? 'lscpu' : 'unknown',
    memTotalBytes: meminfo('MemTotal') ?? os.totalmem(),
    memAvailableBytes: meminfo('MemAvailable') ?? os.freemem(),
    cpuFlags: flags,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    hypervisor,
    thp: thpMode(),
  };
}

/** The 1-minute load average: other work on the machine during the run, which the numbers suffer from. */
export function loadAverage(): number {
  return Math.round(os.loadavg()[0] * 100) / 100;
}
