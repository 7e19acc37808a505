/**
 * Headless Chromium in its own network namespace, for tests of what the network does to a viewer:
 * UDP dropped, only some TCP ports open (a 443-only network), the viewer's address changing.
 *
 *   const nb = await NetnsBrowser.create();
 *   const t = await startTestApp({ http: { host: nb.hostAddress }, media: { listenIp: nb.hostAddress } });
 *   const page = await nb.newPage();
 *   await nb.dropUdp();                 // UDP to/from the namespace vanishes (no error to the sender)
 *   await nb.allowOnlyTcpPorts([443, httpPort]); // everything else vanishes
 *   await nb.allowAll();                // filters gone
 *   const next = await nb.changeAddress(); // 10.77.k.2 -> 10.77.k.3 (and back to .2 on the next call)
 *   await nb.close();                   // browser, bridge, nft tables, veth, namespace, temp dir
 *
 * Layout: namespace `c5b-<pid>-<n>` holding one end of a veth pair (`c5b<k>n`, 10.77.k.2/24, default
 * route via 10.77.k.1) and lo; the other end (`c5b<k>`, 10.77.k.1/24) stays in the root namespace,
 * where the server under test listens. k is taken atomically: creating the veth fails when another
 * run (or process) already owns `c5b<k>`.
 *
 * DevTools does not go over the veth (changing the address or filtering would cut the test's own
 * control of the browser): Chromium listens on 127.0.0.1:9222 inside the namespace, a small node
 * forwarder inside the namespace bridges that to a Unix socket in the temp dir (Unix sockets are
 * files, not network-namespaced), and a TCP listener on the root's 127.0.0.1 bridges to that socket;
 * playwright-core's connectOverCDP goes to that listener. So the veth carries only the page's own
 * traffic (HTTP, WebSocket, ICE, TURN) and the filters see nothing else.
 *
 * Filters: an `inet` table for what arrives on the veth (input hook) and a `netdev` table on the
 * veth's egress hook for what leaves, so a dropped packet simply vanishes as on a real network (a
 * drop in the output hook would give the sender EPERM at once, which real firewalls do not).
 *
 * Everything runs with argument arrays (ip, nft, chromium, node), never a shell. Namespaces left by
 * a crashed run (creator pid gone) are reaped at the next create().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './browser.ts';

const PREFIX = 'c5b-';
const CDP_PORT = 9222;
let serial = 0;

export interface NetnsBrowserOptions {
  /** Extra Chromium arguments. */
  args?: string[];
  /** Default viewport of newPage(): 1280x720. */
  viewport?: { width: number; height: number };
  /**
   * PEM certificates this browser trusts (e.g. Coturn's self-signed one for turns:): put into the
   * NSS database of the browser's own HOME (certutil, Debian's libnss3-tools), trust "C,,".
   * A function gets the host address first (10.77.k.1) and is called before Chromium starts, so a
   * server whose certificate names that address can be started in it.
   */
  trustCertificates?: string[] | ((hostAddress: string) => Promise<string[]>);
}

/** Runs a command (argument array); resolves with stdout, rejects with stderr on a non-zero exit. */
export function run(command: string, args: string[], input?: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(' ')}: exit ${code ?? signal}: ${stderr.trim()}`));
    });
    if (input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function killNamespaceProcesses(ns: string): Promise<void> {
  const pids = (await run('ip', ['netns', 'pids', ns]).catch(() => ''))
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Removes namespaces `c5b-<pid>-<n>` whose creating process is gone (a crashed or killed run). */
export async function reapStaleNamespaces(): Promise<string[]> {
  const reaped: string[] = [];
  const list = await run('ip', ['netns', 'list']).catch(() => '');
  for (const line of list.split('\n')) {
    const name = line.split(/\s/)[0] ?? '';
    const match = /^c5b-(\d+)-\d+$/.exec(name);
    if (!match || pidAlive(Number(match[1]))) continue;
    await killNamespaceProcesses(name);
    // Delete its veth pairs explicitly: a namespace whose teardown lingers keeps them alive.
    const links = await run('ip', ['-n', name, '-o', 'link']).catch(() => '');
    for (const [, k] of links.matchAll(/^\d+: c5b(\d+)n@/gm)) await run('ip', ['link', 'del', `c5b${k}`]).catch(() => undefined);
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    reaped.push(name);
  }
  // Their temp dirs (profile, DevTools socket): c5b-<pid>-XXXXXX.
  for (const entry of readdirSync(tmpdir())) {
    const match = /^c5b-(\d+)-/.exec(entry);
    if (match && !pidAlive(Number(match[1]))) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  return reaped;
}

/** In-namespace forwarder: Unix socket (argv[1]) -> 127.0.0.1:argv[2]. CommonJS for `node -e`. */
const FORWARDER = `
const net = require('node:net');
const [path, port] = process.argv.slice(1);
const server = net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
  c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
});
server.listen(path, () => console.log('ready'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

export class NetnsBrowser {
  /** The namespace's name (`ip netns exec <namespace> ...`). */
  readonly namespace: string;
  /** The root side of the veth (10.77.k.1): where the server under test listens and announces. */
  readonly hostAddress: string;
  /** The veth's names: root side and namespace side. */
  readonly hostDevice: string;
  readonly nsDevice: string;
  browser!: Browser;
  readonly #subnet: string;
  #host = 2;
  readonly #dir: string;
  readonly #viewport: { width: number; height: number };
  #chromium: ChildProcess | undefined;
  #forwarder: ChildProcess | undefined;
  #bridge: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  #filters = false;
  #closing: Promise<void> | undefined;
  /** Chromium's stderr tail, for failures. */
  chromiumLog = '';

  private constructor(namespace: string, k: number, dir: string, viewport: { width: number; height: number }) {
    this.namespace = namespace;
    this.#subnet = `10.77.${k}`;
    this.hostAddress = `${this.#subnet}.1`;
    this.hostDevice = `c5b${k}`;
    this.nsDevice = `c5b${k}n`;
    this.#dir = dir;
    this.#viewport = viewport;
  }

  /** The namespace side's current address (10.77.k.2, or .3 after changeAddress()). */
  get address(): string {
    return `${this.#subnet}.${this.#host}`;
  }

  static async create(options: NetnsBrowserOptions = {}): Promise<NetnsBrowser> {
    await reapStaleNamespaces();
    const namespace = `${PREFIX}${process.pid}-${++serial}`;
    await run('ip', ['netns', 'add', namespace]);
    const dir = mkdtempSync(join(tmpdir(), `c5b-${process.pid}-`));
    let created: NetnsBrowser | undefined;
    try {
      // Take a free /24: the veth name c5b<k> is the lock (ip link add fails when it exists).
      const start = 1 + (process.pid % 200);
      for (let i = 0; i < 250 && !created; i++) {
        const k = 1 + ((start + i) % 250);
        try {
          await run('ip', ['link', 'add', `c5b${k}`, 'type', 'veth', 'peer', 'name', `c5b${k}n`, 'netns', namespace]);
        } catch (error) {
          if (/exists/i.test((error as Error).message)) continue;
          throw error;
        }
        created = new NetnsBrowser(namespace, k, dir, options.viewport ?? { width: 1280, height: 720 });
      }
      if (!created) throw new Error('no free 10.77.k.0/24 for a namespace browser');
      await created.#setUp(options);
      return created;
    } catch (error) {
      if (created) await created.close();
      else {
        await run('ip', ['netns', 'del', namespace]).catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      }
      throw error;
    }
  }

  /** `ip netns exec <namespace> <command> <args>`. */
  exec(command: string, args: string[], input?: string): Promise<string> {
    return run('ip', ['netns', 'exec', this.namespace, command, ...args], input);
  }

  async #setUp(options: NetnsBrowserOptions): Promise<void> {
    await run('ip', ['addr', 'add', `${this.hostAddress}/24`, 'dev', this.hostDevice]);
    await run('ip', ['link', 'set', this.hostDevice, 'up']);
    await this.exec('ip', ['link', 'set', 'lo', 'up']);
    await this.exec('ip', ['addr', 'add', `${this.address}/24`, 'dev', this.nsDevice]);
    await this.exec('ip', ['link', 'set', this.nsDevice, 'up']);
    await this.exec('ip', ['route', 'add', 'default', 'via', this.hostAddress]);

    // The DevTools bridge: namespace 127.0.0.1:9222 <- forwarder <- Unix socket <- root 127.0.0.1:<port>.
    const socketPath = join(this.#dir, 'cdp.sock');
    const forwarder = spawn('ip', ['netns', 'exec', this.namespace, process.execPath, '-e', FORWARDER, socketPath, String(CDP_PORT)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    this.#forwarder = forwarder;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the DevTools forwarder did not start')), 10_000);
      forwarder.stdout.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      forwarder.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the DevTools forwarder exited (${code})`));
      });
    });
    const bridge = net.createServer((c) => {
      const u = net.connect(socketPath);
      this.#sockets.add(c);
      this.#sockets.add(u);
      c.pipe(u);
      u.pipe(c);
      const end = () => {
        c.destroy();
        u.destroy();
        this.#sockets.delete(c);
        this.#sockets.delete(u);
      };
      c.on('error', end).on('close', end);
      u.on('error', end).on('close', end);
    });
    this.#bridge = bridge;
    const bridgePort = await new Promise<number>((resolve, reject) => {
      bridge.once('error', reject);
      bridge.listen(0, '127.0.0.1', () => resolve((bridge.address() as net.AddressInfo).port));
    });

    const trusted = typeof options.trustCertificates === 'function' ? await options.trustCertificates(this.hostAddress) : (options.trustCertificates ?? []);
    if (trusted.length > 0) {
      const db = `sql:${join(this.#dir, '.pki', 'nssdb')}`;
      mkdirSync(join(this.#dir, '.pki', 'nssdb'), { recursive: true });
      await run('certutil', ['-N', '-d', db, '--empty-password']);
      for (const [i, pem] of trusted.entries()) {
        const file = join(this.#dir, `trusted-${i}.pem`);
        writeFileSync(file, pem);
        await run('certutil', ['-A', '-d', db, '-n', `c5-test-${i}`, '-t', 'C,,', '-i', file]);
      }
    }
    const profile = join(this.#dir, 'profile');
    const child = spawn(
      'ip',
      [
        'netns', 'exec', this.namespace, CHROMIUM_PATH,
        '--headless=new',
        `--remote-debugging-port=${CDP_PORT}`,
        '--remote-debugging-address=127.0.0.1',
        `--user-data-dir=${profile}`,
        ...CHROMIUM_ARGS,
        ...(options.args ?? []),
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: { ...process.env, HOME: this.#dir } },
    );
    this.#chromium = child;
    child.stderr?.on('data', (d: Buffer) => {
      this.chromiumLog = (this.chromiumLog + d.toString()).slice(-8000);
    });
    const endpoint = `http://127.0.0.1:${bridgePort}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const response = await fetch(`${endpoint}/json/version`);
        if (response.ok) break;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Chromium in ${this.namespace} did not start: ${this.chromiumLog.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.browser = await chromium.connectOverCDP(endpoint);
  }

  /** A new page in its own browser context (own storage): one independent viewer; `hasTouch`: a touch screen. */
  async newPage(viewport?: { width: number; height: number }, options: { hasTouch?: boolean } = {}): Promise<Page> {
    const context = await this.browser.newContext({ viewport: viewport ?? this.#viewport, ...(options.hasTouch && { hasTouch: true }) });
    return context.newPage();
  }

  async #setFilters(inputRules: string[], egressRules: string[]): Promise<void> {
    await this.#clearFilters();
    const ruleset = [
      'table inet c5b_in {',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      ...inputRules.map((rule) => `    iifname "${this.nsDevice}" ${rule}`),
      '  }',
      '}',
      'table netdev c5b_out {',
      '  chain egress {',
      `    type filter hook egress device "${this.nsDevice}" priority 0; policy accept;`,
      ...egressRules.map((rule) => `    ${rule}`),
      '  }',
      '}',
    ].join('\n');
    await this.exec('nft', ['-f', '-'], ruleset + '\n');
    this.#filters = true;
  }

  async #clearFilters(): Promise<void> {
    if (!this.#filters) return;
    await this.exec('nft', ['delete', 'table', 'inet', 'c5b_in']).catch(() => undefined);
    await this.exec('nft', ['delete', 'table', 'netdev', 'c5b_out']).catch(() => undefined);
    this.#filters = false;
  }

  /** Every UDP packet to or from the namespace is dropped silently (TCP untouched). Replaces other filters. */
  dropUdp(): Promise<void> {
    return this.#setFilters(['meta l4proto udp drop'], ['ip protocol udp drop']);
  }

  /** Removes dropUdp()'s filter (and any other: same as allowAll()). */
  allowUdp(): Promise<void> {
    return this.#clearFilters();
  }

  /** Removes every filter. */
  allowAll(): Promise<void> {
    return this.#clearFilters();
  }

  /**
   * Only TCP to these ports (on any address) leaves the namespace, and only their answers come in:
   * a network that lets out 443 (and the console's own port) and nothing else. ARP still works.
   */
  allowOnlyTcpPorts(ports: number[]): Promise<void> {
    if (ports.length === 0) throw new Error('allowOnlyTcpPorts needs at least one port');
    const set = `{ ${ports.join(', ')} }`;
    return this.#setFilters(
      [`tcp sport ${set} accept`, 'drop'],
      ['meta protocol arp accept', `meta protocol ip tcp dport ${set} accept`, 'drop'],
    );
  }

  /**
   * Moves the namespace side to the next address in its /24 (.2 -> .3 -> .2 ...): the old one is
   * deleted (sockets bound to it stop working, as when a laptop changes networks), the new one
   * added and the default route put back. Returns the new address. Filters stay as they are.
   */
  async changeAddress(): Promise<string> {
    const old = this.address;
    this.#host = this.#host === 2 ? 3 : 2;
    await this.exec('ip', ['addr', 'del', `${old}/24`, 'dev', this.nsDevice]);
    await this.exec('ip', ['addr', 'add', `${this.address}/24`, 'dev', this.nsDevice]);
    await this.exec('ip', ['route', 'replace', 'default', 'via', this.hostAddress]);
    return this.address;
  }

  /** Closes the browser and removes everything create() made. Idempotent; never throws. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.race([this.browser?.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000))]);
      const chromiumPid = this.#chromium?.pid;
      if (chromiumPid !== undefined && this.#chromium?.exitCode === null) {
        try {
          process.kill(-chromiumPid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      this.#forwarder?.stdin?.end();
      this.#forwarder?.kill('SIGKILL');
      for (const socket of this.#sockets) socket.destroy();
      await new Promise<void>((resolve) => (this.#bridge ? this.#bridge.close(() => resolve()) : resolve()));
      // Anything else still in the namespace is ours (Chromium's helpers).
      await killNamespaceProcesses(this.namespace);
      await this.#clearFilters();
      await run('ip', ['link', 'del', this.hostDevice]).catch(() => undefined);
      await run('ip', ['netns', 'del', this.namespace]).catch(() => undefined);
      rmSync(this.#dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }
}
