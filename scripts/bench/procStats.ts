/**
 * CPU and memory of processes, read from /proc: what the benchmarks report for C5 Live's media
 * workers and ingests, Janus, rtsp-relay's ffmpeg, Chromium and the camera simulator.
 *
 *   const meter = CpuMeter.start({ worker: [worker.pid], simulator: [sim.pid, ...descendants(sim.pid)] });
 *   await sleep(10_000);
 *   meter.stop();   // { worker: 0.42, simulator: 0.03 }  (share of ONE core, 1.0 = a full core)
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, in seconds; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident memory in MB; 0 when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round(Number(match?.[1] ?? 0) / 102.4) / 10;
  } catch {
    return 0;
  }
}

/** Measures groups of processes between start() and stop(), as shares of one core. */
export class CpuMeter<K extends string> {
  private constructor(
    private readonly groups: Record<K, readonly number[]>,
    private readonly startedAt: number,
    private readonly startCpu: Record<K, number>,
  ) {}

  static start<K extends string>(groups: Record<K, readonly number[]>): CpuMeter<K> {
    return new CpuMeter(groups, performance.now(), CpuMeter.read(groups));
  }

  private static read<K extends string>(groups: Record<K, readonly number[]>): Record<K, number> {
    const out = {} as Record<K, number>;
    for (const key of Object.keys(groups) as K[]) out[key] = groups[key].reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    return out;
  }

  /** Share of one core each group used since start() (2 decimals). */
  stop(): Record<K, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const now = CpuMeter.read(this.groups);
    const out = {} as Record<K, number>;
    for (const key of Object.keys(this.groups) as K[]) out[key] = Math.round(((now[key] - this.startCpu[key]) / seconds) * 100) / 100;
    return out;
  }
}
