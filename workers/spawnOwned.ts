import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

/**
 * Spawns a child with an argument array (never a shell) in its own process group, through
 * `setpriv --pdeathsig KILL` so the kernel kills it when the server dies, even by SIGKILL.
 * setpriv execs the command, so the pid is the command's own.
 */
export function spawnOwned(command: string, args: string[], stdio: StdioOptions = ['ignore', 'pipe', 'pipe']): ChildProcess {
  const [file, argv] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
  return spawn(file, argv, { stdio, detached: true, env: { ...process.env, AV_LOG_FORCE_NOCOLOR: '1' } });
}

/** Signals the child's whole process group; ignores a group that is already gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already exited.
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
