import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

interface Entry {
  pid: number;
  /** Kernel start time (clock ticks since boot, /proc/<pid>/stat field 22): tells a reused pid apart. */
  startTime: string;
  /** The command the child was started with; its command line must still name it. */
  command: string;
}

/**
 * Records the pids of the children the server spawns, in a file, so that a server restarted after
 * a crash can stop leftovers that are still ours (same pid, same start time, same command).
 * setpriv's pdeathsig already kills them with the server; this covers anything that escaped it.
 */
export class ChildProcessLedger {
  readonly #entries = new Map<number, Entry>();

  constructor(readonly path: string) {}

  add(pid: number, command: string): void {
    const startTime = readStartTime(pid);
    if (startTime === undefined) return;
    this.#entries.set(pid, { pid, startTime, command });
    this.#save();
  }

  remove(pid: number): void {
    if (this.#entries.delete(pid)) this.#save();
  }

  /** Kills leftovers recorded by an earlier run; returns the pids it killed. */
  reapLeftovers(): number[] {
    let recorded: Entry[] = [];
    try {
      recorded = JSON.parse(readFileSync(this.path, 'utf8')) as Entry[];
    } catch {
      return [];
    }
    const killed: number[] = [];
    for (const entry of recorded) {
      if (readStartTime(entry.pid) !== entry.startTime || !readCmdline(entry.pid).includes(entry.command)) continue;
      try {
        process.kill(entry.pid, 'SIGKILL');
        killed.push(entry.pid);
      } catch {
        // Gone in the meantime.
      }
    }
    this.#save();
    return killed;
  }

  #save(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${dirname(this.path)}/.${basename(this.path)}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.#entries.values()]));
    renameSync(tmp, this.path);
  }
}

function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after the closing parenthesis are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readCmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}
