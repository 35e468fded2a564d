/**
 * How busy the machine is, from /proc (Linux): the benchmarks share 2 cores with other work,
 * so every figure is recorded with the cores other processes used meanwhile.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Linux USER_HZ: /proc/<pid>/stat times are in these ticks. */
export const CLK_TCK = 100;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Busy and total jiffies of the whole machine (/proc/stat). */
export function machineTicks(): { busy: number; total: number } {
  const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = values.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = n[3] + n[4];
  return { busy: total - idle, total };
}

/** CPU time (user + system) a process has used, in milliseconds; 0 once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Resident set size of a process now, in MB (VmRSS); 0 once it is gone. */
export function rssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round((Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** Cores busy over the next second, whatever uses them. */
export async function busyCoresNow(): Promise<number> {
  const a = machineTicks();
  await sleep(1000);
  const b = machineTicks();
  return ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * os.cpus().length;
}

/**
 * Measures a stretch of work: the cores the whole machine used, minus the CPU of the processes
 * taking part (`ours`), is what other work took meanwhile (`otherCores`).
 */
export function otherCoresMeter(ours: () => number[]) {
  const cpuOf = () => ours().reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const start = { machine: machineTicks(), oursMs: cpuOf(), at: performance.now() };
  return (): number => {
    const end = { machine: machineTicks(), oursMs: cpuOf(), at: performance.now() };
    const cores = os.cpus().length;
    const machineCores = ((end.machine.busy - start.machine.busy) / Math.max(1, end.machine.total - start.machine.total)) * cores;
    const oursCores = (end.oursMs - start.oursMs) / Math.max(1, end.at - start.at);
    return Math.max(0, Math.round((machineCores - oursCores) * 100) / 100);
  };
}

/** Samples the RSS of some processes every `everyMs` until stopped; returns each one's peak. */
export function rssSampler(pids: number[], everyMs = 100) {
  const peaks = new Map<number, number>(pids.map((pid) => [pid, rssMb(pid)]));
  const sample = () => {
    for (const pid of pids) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, rssMb(pid)));
  };
  const timer = setInterval(sample, everyMs);
  return (): Map<number, number> => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}
