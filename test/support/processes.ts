import { readdirSync, readFileSync } from 'node:fs';

/** Pids of running ffmpeg/ffprobe processes whose command line contains `needle` (a camera URL part). */
export function ffmpegProcesses(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string[];
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const state = readState(entry);
    if (state === 'Z') continue;
    if (/ff(mpeg|probe)$/.test(cmdline[0] ?? '') && cmdline.some((arg) => arg.includes(needle))) pids.push(Number(entry));
  }
  return pids;
}

function readState(pid: string): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  const state = readState(String(pid));
  return state !== undefined && state !== 'Z';
}

/** Polls `check` until it returns true, or throws after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
