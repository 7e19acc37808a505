/**
 * Start/stop the RTSP camera simulator (scripts/camsim/camsim.py, GStreamer RTSP server via
 * Python GI) from tests, benchmarks and `npm run cameras`.
 *
 *   const sim = await Simulator.start({ config: { cameras: [...] } });
 *   sim.url('cam-main')                         // rtsp://127.0.0.1:<port>/cam-main
 *   sim.url('cam-secure', { user, password })   // credentials in the URL
 *   await sim.drop('cam-main'); await sim.restore('cam-main');
 *   (await sim.status()).cpuSeconds
 *   await sim.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CAMSIM_SCRIPT = path.join(ROOT, 'scripts', 'camsim', 'camsim.py');
export const DEFAULT_CONFIG = path.join(ROOT, 'config', 'cameras.json');
const PYTHON = process.env.CAMSIM_PYTHON ?? '/usr/bin/python3';
const SETPRIV = '/usr/bin/setpriv';

export interface CameraAuth {
  user: string;
  password: string;
  method: 'basic' | 'digest';
}

/** One camera; the mount path is /<id>. See the comment at the top of camsim.py. */
export interface CameraConfig {
  id: string;
  tag?: number;
  codec?: 'h264' | 'mjpeg';
  profile?: 'baseline' | 'main' | 'high';
  width?: number;
  height?: number;
  fps?: number;
  gop?: number;
  bitrateKbps?: number;
  bframes?: number;
  /** Slices per picture (h264, no bframes); 2 or more also sends SPS/PPS before every IDR slice (rtph264pay config-interval=-1). Default 1. */
  slices?: number;
  quality?: number;
  pattern?: string;
  motion?: number;
  stamped?: boolean;
  auth?: CameraAuth;
}

/** `count` cheap mounts <prefix>1..<prefix><count> fed by ONE encoder. */
export interface BulkConfig extends Omit<CameraConfig, 'id' | 'stamped'> {
  prefix: string;
  count: number;
}

export interface SimulatorConfig {
  /** Used by scripts/cameras.ts only; tests pick ports through SimulatorOptions. */
  rtspPort?: number;
  cameras: Array<CameraConfig | { bulk: BulkConfig }>;
}

export interface CameraStatus {
  id: string;
  path: string;
  codec: 'h264' | 'mjpeg';
  profile: 'baseline' | 'main' | 'high' | null;
  width: number;
  height: number;
  fps: number;
  gop: number | null;
  bframes: number;
  slices: number;
  stamped: boolean;
  tag: number | null;
  auth: 'basic' | 'digest' | null;
  bulk: string | null;
  dropped: boolean;
  /** RTSP connections that have requested this mount and are still open */
  clients: number;
}

export interface SimulatorStatus {
  pid: number;
  /** user+system CPU seconds of the simulator process (all threads) and its reaped children */
  cpuSeconds: number;
  rtspPort: number;
  cameras: CameraStatus[];
}

export interface SimulatorOptions {
  /** Path of a JSON config, or the config itself. Default config/cameras.json. */
  config?: string | SimulatorConfig;
  /** RTSP port; default 0 = the simulator picks a free port (race-free). */
  rtspPort?: number;
  /** Control HTTP port on 127.0.0.1; default 0 = free port. */
  controlPort?: number;
  /** Address the RTSP server listens on; default 127.0.0.1. */
  host?: string;
  /** Receives every stderr line of the simulator. */
  logTo?: (line: string) => void;
  /** How long to wait for the ready line; default 15000 ms. */
  readyTimeoutMs?: number;
}

interface ReadyLine {
  ready: true;
  rtspPort: number;
  controlPort: number;
  pid: number;
  mounts: string[];
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const started = new Set<Simulator>();

export class Simulator {
  /**
   * Death reports of simulators that died without being stopped, each returned once (the test
   * suite's root hook prints them, so a crash is named instead of showing only as refused connections).
   */
  static takeDeathReports(): string[] {
    const reports: string[] = [];
    for (const sim of started) {
      const report = sim.deathReport();
      if (report === undefined) continue;
      started.delete(sim);
      reports.push(report);
    }
    return reports;
  }

  readonly pid: number;
  readonly rtspPort: number;
  readonly controlPort: number;
  readonly host: string;
  /** camera ids (mount paths without the leading slash), in config order */
  readonly cameras: readonly string[];
  private readonly child: ChildProcess;
  /** Resolves when the simulator process has exited (for whatever reason). */
  readonly exited: Promise<void>;
  private stopping: Promise<void> | null = null;
  /** How the process ended ("code 0", "signal SIGSEGV"), once it has. */
  exitStatus: string | undefined;
  private stderrTail: string[];

  private constructor(child: ChildProcess, ready: ReadyLine, host: string, exited: Promise<void>, tail: string[]) {
    this.child = child;
    this.pid = ready.pid;
    this.rtspPort = ready.rtspPort;
    this.controlPort = ready.controlPort;
    this.host = host;
    this.cameras = ready.mounts.map((m) => m.replace(/^\//, ''));
    this.exited = exited;
    this.stderrTail = tail;
    started.add(this);
    void exited.then(() => {
      if (this.stopping) started.delete(this);
      this.exitStatus = child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
    });
  }

  static async start(opts: SimulatorOptions = {}): Promise<Simulator> {
    const host = opts.host ?? '127.0.0.1';
    const config = opts.config ?? DEFAULT_CONFIG;
    const args = [CAMSIM_SCRIPT];
    if (typeof config === 'string') args.push('--config', config);
    else args.push('--config-json', JSON.stringify(config));
    args.push('--port', String(opts.rtspPort ?? 0), '--control-port', String(opts.controlPort ?? 0), '--host', host);
    // setpriv execs python in place: same pid, and the kernel SIGKILLs it if we die.
    const child = existsSync(SETPRIV)
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', PYTHON, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    installExitHook();
    const tail: string[] = [];
    const exited = new Promise<void>((resolve) => {
      child.once('close', () => {
        live.delete(child);
        resolve();
      });
    });
    let errBuf = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      errBuf += chunk.toString();
      let nl: number;
      while ((nl = errBuf.indexOf('\n')) >= 0) {
        const line = errBuf.slice(0, nl);
        errBuf = errBuf.slice(nl + 1);
        tail.push(line);
        if (tail.length > 40) tail.shift();
        opts.logTo?.(line);
      }
    });

    const ready = await new Promise<ReadyLine>((resolve, reject) => {
      let outBuf = '';
      const fail = (why: string) => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`camera simulator ${why}\n${tail.join('\n')}${errBuf ? '\n' + errBuf : ''}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${opts.readyTimeoutMs ?? 15000} ms`), opts.readyTimeoutMs ?? 15000);
      const onData = (chunk: Buffer) => {
        outBuf += chunk.toString();
        let nl: number;
        while ((nl = outBuf.indexOf('\n')) >= 0) {
          const line = outBuf.slice(0, nl).trim();
          outBuf = outBuf.slice(nl + 1);
          if (!line.startsWith('{')) continue;
          try {
            const msg = JSON.parse(line) as Partial<ReadyLine>;
            if (msg.ready) {
              cleanup();
              resolve(msg as ReadyLine);
              return;
            }
          } catch {
            /* not ours */
          }
        }
      };
      const onClose = (code: number | null, signal: string | null) => {
        // give stderr a tick to flush into the tail
        setImmediate(() => fail(`exited before ready (code ${code}, signal ${signal})`));
      };
      const onError = (e: Error) => fail(`failed to spawn: ${e.message}`);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('close', onClose);
        child.off('error', onError);
      };
      child.stdout!.on('data', onData);
      child.once('close', onClose);
      child.once('error', onError);
    });
    child.stdout!.resume(); // keep draining
    return new Simulator(child, ready, host, exited, tail);
  }

  /** rtsp://host:port/<id>, with URL-encoded credentials when given. */
  url(cameraId: string, credentials?: { user: string; password: string }): string {
    const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
    return `rtsp://${auth}${this.host}:${this.rtspPort}/${cameraId}`;
  }

  /** Disconnects the camera's clients and refuses new ones (404) until restore(). */
  async drop(cameraId: string): Promise<void> {
    await this.control('POST', `/cameras/${encodeURIComponent(cameraId)}/drop`);
  }

  async restore(cameraId: string): Promise<void> {
    await this.control('POST', `/cameras/${encodeURIComponent(cameraId)}/restore`);
  }

  async status(): Promise<SimulatorStatus> {
    return (await this.control('GET', '/status')) as SimulatorStatus;
  }

  /** Last stderr lines of the simulator (for failure messages). */
  logTail(): string {
    return this.stderrTail.join('\n');
  }

  /**
   * Why a test failed, when the simulator died under it: its exit status and last stderr lines
   * (a crash inside GStreamer shows every later test failing with ECONNREFUSED otherwise).
   */
  deathReport(): string | undefined {
    if (this.running || this.stopping) return undefined;
    return `camera simulator (pid ${this.pid}) died: ${this.exitStatus ?? 'exit status unknown'}\n${this.logTail()}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, SIGKILL after `graceMs`, resolves when the process has exited. Idempotent. */
  stop(graceMs = 3000): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        if (this.running) {
          this.child.kill('SIGTERM');
          const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
          await this.exited;
          clearTimeout(timer);
        } else {
          await this.exited;
        }
      })();
    }
    return this.stopping;
  }

  private async control(method: 'GET' | 'POST', p: string): Promise<unknown> {
    if (!this.running) throw new Error('camera simulator is not running');
    const res = await fetch(`http://127.0.0.1:${this.controlPort}${p}`, {
      method,
      signal: AbortSignal.timeout(10000),
    });
    const body = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`camera simulator ${method} ${p}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  }
}

/** A currently free TCP port on 127.0.0.1 (may race with other processes; prefer port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a process with this pid exists (and is not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Pids of all live descendants of `pid`, from the OS process table (/proc). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}
