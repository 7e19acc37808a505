/**
 * What a benchmark asks of the machine it runs on, in one place: its command line, waiting, the
 * CPU and memory of processes and cores as Linux reports them in /proc, and pinning processes to
 * cores (taskset) at a nice value.
 *
 *   const args = benchmarkCommandLine({ trials: { type: 'string' } }, (flags, { full }) => ({
 *     trials: flags.integer('trials', { min: 1, max: 20, fallback: full ? 3 : 2 }),
 *   }));                                   // { full, out, jsonOnly, trials }; a bad argument: "bench: <why>" on stderr, exit 2
 *   await pinToCore(worker.pid, 0);         // every thread of the worker on core 0
 *   const meter = CpuMeter.start({ worker: [worker.pid], simulator: [sim.pid, ...descendants(sim.pid)] });
 *   const before = machineCpu();
 *   await sleep(10_000);
 *   meter.stop();                           // { worker: 0.42, simulator: 0.03 }  (share of ONE core)
 *   cpuBusyShare(before.cores[0]!, machineCpu().cores[0]!);   // 0..1, whoever used core 0
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parseArgs, promisify, type ParseArgsConfig } from 'node:util';
import { processAlive } from '../camsim/Simulator.ts';

export { sleep } from './sleep.ts';

// ---------------------------------------------------------------------------------------------
// The command line

/** The flags every benchmark takes (report.ts writes where --out says). */
export const commonOptions = {
  /** the full mode (more trials, longer, more steps); the default is the quick mode */
  full: { type: 'boolean', default: false },
  /** where <name>.json and <name>.png go */
  out: { type: 'string', default: 'bench-results' },
  /** no progress on stderr and no summary line */
  'json-only': { type: 'boolean', default: false },
} as const;

export interface CommonArgs {
  full: boolean;
  out: string;
  jsonOnly: boolean;
}

export function commonArgs(values: { full?: boolean; out?: string; 'json-only'?: boolean }): CommonArgs {
  return { full: values.full ?? false, out: values.out ?? 'bench-results', jsonOnly: values['json-only'] ?? false };
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
/** What node's parseArgs gives for `O` (strict, no positionals). */
export type FlagValues<O extends OptionsConfig> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];
/** The flags of `V` that take a value. */
type ValueFlag<V> = { [K in keyof V]-?: V[K] extends string | undefined ? K : never }[keyof V] & string;

export interface NumberRule {
  min: number;
  /** none: no upper bound */
  max?: number;
  /** the number when the flag is not given (and has no parseArgs default) */
  fallback?: number;
  /** what the value must be, in the error message (default "a number" / "an integer") */
  what?: string;
  /** why, in brackets after the rule in the error message */
  why?: string;
}

/** The parsed flags of a command line, and readers that check their values (an Error says what is wrong). */
export class Flags<V extends Record<string, unknown>> {
  constructor(readonly values: V) {}

  /** `--name`'s value as a number within the rule. */
  number(name: ValueFlag<V>, rule: NumberRule): number {
    return this.#number(name, rule, false);
  }

  /** `--name`'s value as an integer within the rule. */
  integer(name: ValueFlag<V>, rule: NumberRule): number {
    return this.#number(name, rule, true);
  }

  /** `--name`'s comma-separated list of increasing integers from `min` to `max` (`fallback` when not given). */
  increasingIntegers(name: ValueFlag<V>, rule: { min: number; max: number; fallback?: readonly number[] }): number[] {
    const text = this.#text(name);
    if (text === undefined && rule.fallback) return [...rule.fallback];
    const list = (text ?? '').split(',').map((s) => Number(s.trim()));
    if (list.some((n, i) => !Number.isInteger(n) || n < rule.min || n > rule.max || (i > 0 && n <= list[i - 1]!)))
      throw new Error(`--${name} must be increasing integers from ${rule.min} to ${rule.max}, comma-separated`);
    return list;
  }

  /** `--name`'s comma-separated names, each one of `known` (`noun` names one in the error message); all of them when not given. */
  names<N extends string>(name: ValueFlag<V>, known: readonly N[], noun: string): N[] {
    const text = this.#text(name);
    if (text === undefined) return [...known];
    const names = text.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) if (!(known as readonly string[]).includes(n)) throw new Error(`--${name}: unknown ${noun} ${n} (known: ${known.join(', ')})`);
    if (names.length === 0) throw new Error(`--${name}: none given`);
    return names as N[];
  }

  #text(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  #number(name: string, rule: NumberRule, integer: boolean): number {
    const text = this.#text(name);
    const n = text === undefined ? (rule.fallback ?? NaN) : Number(text);
    const ok = (integer ? Number.isInteger(n) : Number.isFinite(n)) && n >= rule.min && (rule.max === undefined || n <= rule.max);
    if (!ok) {
      const what = rule.what ?? (integer ? 'an integer' : 'a number');
      const range = rule.max === undefined ? `>= ${rule.min}` : `from ${rule.min} to ${rule.max}`;
      throw new Error(`--${name} must be ${what} ${range}${rule.why ? ` (${rule.why})` : ''}`);
    }
    return n;
  }
}

/**
 * Parses `args` with node's util.parseArgs against `options` (strict: an unknown flag, a flag
 * without its value or a positional argument is an error), then `read` turns the flags into the
 * benchmark's arguments. Throws an Error that says what is wrong.
 */
export function parseCommandLine<const O extends OptionsConfig, A>(options: O, read: (flags: Flags<FlagValues<O>>) => A, args: readonly string[] = process.argv.slice(2)): A {
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  return read(new Flags(values as FlagValues<O>));
}

/** parseCommandLine() of this process's arguments; a bad one ends the process: "bench: <why>" on stderr, exit code 2. */
export function commandLine<const O extends OptionsConfig, A>(options: O, read: (flags: Flags<FlagValues<O>>) => A): A {
  try {
    return parseCommandLine(options, read);
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

/** commandLine() of a benchmark: its own `options` and the common ones (--full, --out, --json-only), which `read` gets read. */
export function benchmarkCommandLine<const O extends OptionsConfig, A>(
  options: O,
  read: (flags: Flags<FlagValues<typeof commonOptions & O>>, common: CommonArgs) => A,
): CommonArgs & A {
  return commandLine({ ...commonOptions, ...options }, (flags) => {
    const common = commonArgs(flags.values);
    return { ...common, ...read(flags, common) };
  });
}

// ---------------------------------------------------------------------------------------------
// Processes: /proc/<pid>

const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name (state first); undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** User and system CPU time a process has used so far, in seconds; 0 when it is gone. */
export function processCpu(pid: number): { user: number; system: number } {
  const f = statFields(pid);
  return f ? { user: Number(f[11]) / TICKS_PER_SECOND, system: Number(f[12]) / TICKS_PER_SECOND } : { user: 0, system: 0 };
}

/** CPU time (user + system) a process has used so far, in seconds; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  const { user, system } = processCpu(pid);
  return user + system;
}

/** The parent of a process; undefined when it is gone. */
export function parentPid(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[1]) : undefined;
}

/** A process's command line (argv); empty when it is gone. */
export function processArgv(pid: number): string[] {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop(); // the NUL after the last argument (a process that rewrote its title may have none)
    return argv;
  } catch {
    return [];
  }
}

/** A process's name (/proc/<pid>/comm: its executable's, cut to 15 characters); undefined when it is gone. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Resident memory in MB (1 decimal); 0 when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Math.round(Number(match?.[1] ?? 0) / 102.4) / 10;
  } catch {
    return 0;
  }
}

/** Unique set size in MB (pages no other process maps, 1 decimal); 0 when the process is gone. */
export function ussMb(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return Math.round((kb('Private_Clean') + kb('Private_Dirty')) / 102.4) / 10;
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

  /** Share of one core each group used since start(): 2 decimals, or unrounded with `round: false` (one process's share of a busy machine). */
  stop({ round = true }: { round?: boolean } = {}): Record<K, number> {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const now = CpuMeter.read(this.groups);
    const out = {} as Record<K, number>;
    for (const key of Object.keys(this.groups) as K[]) {
      const share = (now[key] - this.startCpu[key]) / seconds;
      out[key] = round ? Math.round(share * 100) / 100 : share;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Cores and the machine: /proc/stat, /proc/net/udp

/** CPU ticks since boot on one core or on all of them. */
export interface CpuReading {
  /** all but idle and iowait */
  busy: number;
  /** user .. steal (guest time is inside user) */
  total: number;
  /** irq + softirq: charged to no process (on loopback benchmarks mostly the networking) */
  irq: number;
}

export interface MachineCpu {
  /** the "cpu" line: all cores together */
  all: CpuReading;
  /** the "cpuN" lines, by core number */
  cores: CpuReading[];
}

function cpuLine(fields: number[]): CpuReading {
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  const total = fields.slice(0, 8).reduce((s, v) => s + v, 0);
  return { busy: total - idle, total, irq: (fields[5] ?? 0) + (fields[6] ?? 0) };
}

/** Parses /proc/stat's "cpu" and "cpuN" lines. */
export function parseProcStat(text: string): MachineCpu {
  const out: MachineCpu = { all: { busy: 0, total: 0, irq: 0 }, cores: [] };
  for (const line of text.split('\n')) {
    const match = /^cpu(\d*)\s/.exec(line);
    if (!match) continue;
    const reading = cpuLine(line.trim().split(/\s+/).slice(1).map(Number));
    if (match[1] === '') out.all = reading;
    else out.cores[Number(match[1])] = reading;
  }
  return out;
}

/** The machine's CPU ticks now (/proc/stat); zeros when it cannot be read. */
export function machineCpu(): MachineCpu {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return parseProcStat('');
  }
}

/** Share of the CPU time between two readings that was busy, 0..1; NaN when no time passed. */
export function cpuBusyShare(a: CpuReading, b: CpuReading): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : NaN;
}

/** Share of the CPU time between two readings spent in interrupts (irq + softirq), 0..1; NaN when no time passed. */
export function cpuIrqShare(a: CpuReading, b: CpuReading): number {
  const total = b.total - a.total;
  return total > 0 ? (b.irq - a.irq) / total : NaN;
}

/** Datagrams the kernel dropped (receive buffer full) so far, per local UDP port on 127.0.0.1. */
export function udpDrops(ports: readonly number[]): Map<number, number> {
  const wanted = new Map(ports.map((p) => [`0100007F:${p.toString(16).toUpperCase().padStart(4, '0')}`, p]));
  const out = new Map<number, number>();
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const port = wanted.get(f[1] ?? '');
    if (port !== undefined) out.set(port, (out.get(port) ?? 0) + Number(f[f.length - 1]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scheduling: cores (taskset) and nice values

const TASKSET = '/usr/bin/taskset';
const AUTOGROUP = '/proc/self/autogroup';
const run = promisify(execFile);

/**
 * Pins every thread of `pid` to `core` (taskset -apc) and, with a non-zero `nice`, gives each
 * thread that nice value (setpriority() takes a thread id: threads are reniced one by one).
 * Returns false when the process is gone; throws when a live thread ends up allowed elsewhere
 * (threads that exit meanwhile are passed over).
 */
export async function pinToCore(pid: number, core: number, { nice = 0 }: { nice?: number } = {}): Promise<boolean> {
  const taskset = () => run(TASKSET, ['-apc', String(core), String(pid)]);
  try {
    await taskset();
  } catch {
    if (!processAlive(pid)) return false;
    await taskset(); // a thread that exited under taskset fails it: once more
  }
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  for (const tid of tids) {
    const task = `/proc/${pid}/task/${tid}`;
    try {
      if (nice !== 0) setPriority(Number(tid), nice);
    } catch (error) {
      if (existsSync(task)) throw error;
      continue;
    }
    let status: string;
    try {
      status = readFileSync(`${task}/status`, 'utf8');
    } catch {
      continue;
    }
    const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1];
    if (allowed !== String(core)) throw new Error(`pid ${pid} thread ${tid} pinned to ${core} but allowed on ${allowed}`);
  }
  return true;
}

/** pinToCore() for each of `pids`, passing over those that are gone. */
export async function pinAllToCore(pids: readonly number[], core: number, opts: { nice?: number } = {}): Promise<void> {
  for (const pid of pids) await pinToCore(pid, core, opts);
}

/** `command` (argv) started on `core` only: taskset -c in front of it (it execs in place, keeping the pid). */
export function onCore(core: number, command: readonly string[]): string[] {
  if (!existsSync(TASKSET)) throw new Error(`${TASKSET} not found (util-linux)`);
  return [TASKSET, '-c', String(core), ...command];
}

/** Whether Linux groups this session's processes for the scheduler (autogroup: a nice value only counts within a group). */
export function autogroupSupported(): boolean {
  return existsSync(AUTOGROUP);
}

/** Gives this process's autogroup (its whole session) the nice value `nice`; returns what the kernel says of it then. */
export function setAutogroupNice(nice: number): string {
  writeFileSync(AUTOGROUP, String(nice));
  return readFileSync(AUTOGROUP, 'utf8').trim();
}
