/**
 * The Janus baseline (benchmarks only): Debian's `janus` (1.1.2) with only the streaming plugin and
 * the plain-HTTP transport, one RTSP mountpoint pulling the camera, and a page that watches it over
 * WebRTC with janus.js into a <video id="janus-video">.
 *
 *   const janus = await JanusPeer.start({ rtspUrl: sim.url('cam-stamped') });
 *   page.goto(janus.pageUrl)   // window.janusState: 'loading' | 'attached' | 'watching' | 'playing' | 'failed: ...'
 *   await sampleVideo(page, '#janus-video', { durationMs: 10_000 });
 *   await janus.close();
 *
 * Everything runs on loopback on free ports: Janus's HTTP API (API at /janus), a small node http
 * server for the page and its scripts (janus.js from libjs-janus-gateway, adapter.js from
 * libjs-webrtc-adapter; no CDN), and an RTP/ICE port range picked at random and probed. The config
 * lives in a temp dir removed by close(). Janus runs in its own process group under
 * `setpriv --pdeathsig KILL` (it dies with us); close() SIGTERMs the group, then SIGKILLs it.
 *
 * Janus pulls the RTSP stream as soon as it starts (RTP over UDP, not interleaved TCP), so unlike
 * rtsp-relay and C5 Live the camera is not idle between viewers: a new viewer waits for the next
 * keyframe of an already-running stream (the plugin does not ask the camera for one).
 *
 * Debian packages: janus, libjs-janus-gateway, libjs-webrtc-adapter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../camsim/Simulator.ts';
import { sleep } from './host.ts';

const JANUS_BIN = process.env.JANUS_BIN ?? '/usr/bin/janus';
const SETPRIV = '/usr/bin/setpriv';
const LIB_DIR = '/usr/lib/x86_64-linux-gnu/janus';
const JANUS_JS = '/usr/share/javascript/janus-gateway/janus.js';
const ADAPTER_JS = '/usr/share/javascript/webrtc-adapter/adapter.js';
const MOUNTPOINT_ID = 1;
const START_TIMEOUT_MS = 15_000;

export interface JanusPeerOptions {
  /** Mountpoint 1, pulled from Janus's start. */
  rtspUrl: string;
  /**
   * More cameras by mountpoint id (not 1). They are NOT created at start: the page creates one when
   * opened with `?id=N&create=1` (a cold start: Janus connects to the camera on the viewer's request),
   * or createMountpoint(N) does (then it is warm for the next viewer).
   */
  more?: Record<number, string>;
  /** Janus's own log lines (stdout/stderr) go here; default: kept in a tail for errors only. */
  logTo?: (line: string) => void;
  /** Janus debug level 0-7 (default 3: errors and warnings). */
  debugLevel?: number;
}

/** Quotes a string for a libconfig (.jcfg) file. */
const q = (s: string) => JSON.stringify(s);

function janusConfig(dir: string, rtpRange: [number, number], debugLevel: number): string {
  return `general: {
	configs_folder = ${q(dir)}
	plugins_folder = ${q(`${LIB_DIR}/plugins`)}
	transports_folder = ${q(`${LIB_DIR}/transports`)}
	events_folder = ${q(`${LIB_DIR}/events`)}
	loggers_folder = ${q(`${LIB_DIR}/loggers`)}
	debug_level = ${debugLevel}
	session_timeout = 60
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr", "/var"]
}
certificates: {
}
media: {
	rtp_port_range = "${rtpRange[0]}-${rtpRange[1]}"
}
nat: {
	nice_debug = false
	ice_lite = true
	ignore_mdns = true
	ice_enforce_list = "lo"
}
plugins: {
	disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so"
}
transports: {
	disable = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so,libjanus_websockets.so"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
}
`;
}

function httpConfig(httpPort: number): string {
  return `general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = ${httpPort}
	interface = "lo"
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
}
`;
}

/** The streaming plugin's RTSP mountpoint settings (the config file and the `create` request take the same keys). */
function rtspMountpoint(id: number, rtspUrl: string) {
  return {
    type: 'rtsp',
    id,
    description: `benchmark camera ${id}`,
    audio: false,
    video: true,
    url: rtspUrl,
    rtsp_reconnect_delay: 1,
    rtsp_timeout: 10,
    rtsp_conn_timeout: 5,
    videopt: 96,
    videortpmap: 'H264/90000',
    videofmtp: 'profile-level-id=42e01f;packetization-mode=1',
  };
}

function streamingConfig(rtspUrl: string): string {
  const settings = Object.entries(rtspMountpoint(MOUNTPOINT_ID, rtspUrl))
    .map(([key, value]) => `\t${key} = ${typeof value === 'string' ? q(value) : String(value)}`)
    .join('\n');
  return `general: {\n}\ncamera: {\n${settings}\n}\n`;
}

const page = (janusApi: string, mountpoints: Record<number, ReturnType<typeof rtspMountpoint>>) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Janus baseline</title>
<style>html,body{margin:0;background:#000}video{display:block}</style>
<script src="/vendor/adapter.js"></script>
<script src="/vendor/janus.js"></script>
</head>
<body>
<video id="janus-video" muted playsinline autoplay></video>
<script>
(() => {
  const video = document.getElementById('janus-video');
  const set = (state) => { window.janusState = state; };
  const fail = (what) => (error) => set('failed: ' + what + ': ' + (error && error.message || JSON.stringify(error)));
  window.janusReady = false;
  set('loading');
  video.addEventListener('playing', () => { window.janusReady = true; set('playing'); });
  Janus.init({
    debug: false,
    dependencies: Janus.useDefaultDependencies(),
    callback: () => {
      const janus = new Janus({
        server: ${JSON.stringify(janusApi)},
        error: fail('session'),
        success: () => janus.attach({
          plugin: 'janus.plugin.streaming',
          opaqueId: 'bench-' + Janus.randomString(8),
          error: fail('attach'),
          success: (handle) => {
            set('attached');
            window.janusHandle = handle;
            const query = new URLSearchParams(location.search);
            const id = Number(query.get('id') || ${MOUNTPOINT_ID});
            const watch = () => handle.send({ message: { request: 'watch', id } });
            if (query.get('create') !== '1') return watch();
            const create = Object.assign({ request: 'create' }, ${JSON.stringify(mountpoints)}[id]);
            handle.send({
              message: create,
              success: (answer) => {
                if (answer && answer.error && answer.error_code !== 456) return fail('create')(answer.error);
                set('created');
                watch();
              },
              error: fail('create'),
            });
          },
          onmessage: (msg, jsep) => {
            const handle = window.janusHandle;
            if (msg && msg.error) return fail('plugin')(msg.error);
            if (jsep) {
              handle.createAnswer({
                jsep,
                tracks: [{ type: 'data' }],
                success: (answer) => { set('watching'); handle.send({ message: { request: 'start' }, jsep: answer }); },
                error: fail('answer'),
              });
            }
          },
          onremotetrack: (track, mid, on) => {
            if (track.kind !== 'video' || !on) return;
            video.srcObject = new MediaStream([track]);
            video.play().catch(() => undefined);
          },
          oncleanup: () => { if (window.janusState !== 'closed') set('cleanup'); },
        }),
      });
      window.janusSession = janus;
    },
  });
})();
</script>
</body>
</html>
`;

/** A random block of `size` UDP ports whose ends are free on loopback right now. */
async function freeUdpRange(size: number): Promise<[number, number]> {
  const udpFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20_000 + 2 * Math.floor(Math.random() * 10_000);
    if ((await udpFree(base)) && (await udpFree(base + size - 1))) return [base, base + size - 1];
  }
  throw new Error('no free UDP port range for Janus');
}

export class JanusPeer {
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    private readonly dir: string,
    readonly janusPort: number,
    readonly port: number,
    private readonly mountpoints: Record<number, ReturnType<typeof rtspMountpoint>>,
  ) {}

  /** The player page (mountpoint 1). */
  get pageUrl(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** The player page of mountpoint `id`; with `create`, the page creates the mountpoint first (cold). */
  playerUrl(id: number, opts: { create?: boolean } = {}): string {
    return `http://127.0.0.1:${this.port}/?id=${id}${opts.create ? '&create=1' : ''}`;
  }

  /** Creates mountpoint `id` (one of `more`) now: Janus starts pulling its camera. Already there: no-op. */
  async createMountpoint(id: number): Promise<void> {
    const settings = this.mountpoints[id];
    if (!settings) throw new Error(`mountpoint ${id} is not one of JanusPeer's cameras`);
    const answer = await this.streamingRequest({ request: 'create', ...settings });
    if (answer.error && answer.error_code !== 456) throw new Error(`janus create ${id}: ${String(answer.error)}`);
  }

  /** Destroys mountpoint `id` (Janus stops pulling its camera; its viewers are hung up). Absent: no-op. */
  async destroyMountpoint(id: number): Promise<void> {
    const answer = await this.streamingRequest({ request: 'destroy', id });
    if (answer.error && answer.error_code !== 455) throw new Error(`janus destroy ${id}: ${String(answer.error)}`);
  }

  /** One synchronous streaming-plugin request over the HTTP API in a throwaway session. */
  private async streamingRequest(body: Record<string, unknown>): Promise<{ error?: unknown; error_code?: number; [k: string]: unknown }> {
    const api = `http://127.0.0.1:${this.janusPort}/janus`;
    const post = async (url: string, message: Record<string, unknown>) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...message, transaction: Math.random().toString(36).slice(2) }),
        signal: AbortSignal.timeout(10_000),
      });
      const json = (await res.json()) as { janus: string; data?: { id: number }; plugindata?: { data: Record<string, unknown> }; error?: { reason: string } };
      if (json.janus === 'error') throw new Error(`janus: ${json.error?.reason ?? 'error'}`);
      return json;
    };
    const session = (await post(api, { janus: 'create' })).data!.id;
    try {
      const handle = (await post(`${api}/${session}`, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data!.id;
      const answer = await post(`${api}/${session}/${handle}`, { janus: 'message', body });
      return (answer.plugindata?.data ?? {}) as { error?: unknown; error_code?: number };
    } finally {
      await post(`${api}/${session}`, { janus: 'destroy' }).catch(() => undefined);
    }
  }

  /** Janus's pid (its process group id too). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(opts: JanusPeerOptions): Promise<JanusPeer> {
    for (const f of [JANUS_BIN, JANUS_JS, ADAPTER_JS]) {
      if (!existsSync(f)) throw new Error(`${f} missing (apt-get install janus libjs-janus-gateway libjs-webrtc-adapter)`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'c5-janus-'));
    let child: ChildProcess | undefined;
    let server: Server | undefined;
    try {
      const janusPort = await freePort();
      const rtpRange = await freeUdpRange(200);
      writeFileSync(join(dir, 'janus.jcfg'), janusConfig(dir, rtpRange, opts.debugLevel ?? 3));
      writeFileSync(join(dir, 'janus.transport.http.jcfg'), httpConfig(janusPort));
      writeFileSync(join(dir, 'janus.plugin.streaming.jcfg'), streamingConfig(opts.rtspUrl));

      const janusArgs = ['-F', dir, '-C', join(dir, 'janus.jcfg'), '--disable-colors'];
      // detached: its own process group (close() signals the group); setpriv execs janus in place.
      child = existsSync(SETPRIV)
        ? spawn(SETPRIV, ['--pdeathsig', 'KILL', JANUS_BIN, ...janusArgs], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
        : spawn(JANUS_BIN, janusArgs, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const started = child;
      const tail: string[] = [];
      const onLine = (chunk: Buffer) => {
        for (const raw of chunk.toString().split('\n')) {
          // Janus prints the RTSP URL (credentials included) in its log: redact user:pass@.
          const line = raw.replace(/(rtsp:\/\/)[^/@\s]+@/g, '$1***@').trimEnd();
          if (!line) continue;
          tail.push(line);
          if (tail.length > 40) tail.shift();
          opts.logTo?.(line);
        }
      };
      started.stdout!.on('data', onLine);
      started.stderr!.on('data', onLine);
      let dead = false;
      const exited = new Promise<void>((resolve) => started.once('close', () => { dead = true; resolve(); }));

      // Wait for the HTTP API.
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        if (dead) throw new Error(`janus exited during start-up:\n${tail.join('\n')}`);
        try {
          const res = await fetch(`http://127.0.0.1:${janusPort}/janus/info`, { signal: AbortSignal.timeout(1000) });
          if (res.ok) {
            const info = (await res.json()) as { plugins?: Record<string, unknown> };
            if (!info.plugins || !('janus.plugin.streaming' in info.plugins)) throw new Error('janus is up without its streaming plugin');
            break;
          }
        } catch (error) {
          if (error instanceof Error && /streaming plugin/.test(error.message)) throw error;
        }
        if (Date.now() > deadline) throw new Error(`janus HTTP API did not answer within ${START_TIMEOUT_MS} ms:\n${tail.join('\n')}`);
        await sleep(50);
      }

      const janusApi = `http://127.0.0.1:${janusPort}/janus`;
      const janusJs = readFileSync(JANUS_JS, 'utf8');
      const adapterJs = readFileSync(ADAPTER_JS, 'utf8');
      const mountpoints: Record<number, ReturnType<typeof rtspMountpoint>> = {};
      for (const [id, url] of Object.entries(opts.more ?? {})) mountpoints[Number(id)] = rtspMountpoint(Number(id), url);
      const html = page(janusApi, mountpoints);
      server = createServer((req, res) => {
        const send = (type: string, body: string) => {
          res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(body);
        };
        const path = (req.url ?? '/').split('?')[0];
        if (path === '/') send('text/html; charset=utf-8', html);
        else if (path === '/favicon.ico') {
          res.writeHead(204);
          res.end();
        }
        else if (path === '/vendor/janus.js') send('application/javascript', janusJs);
        else if (path === '/vendor/adapter.js') send('application/javascript', adapterJs);
        else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found');
        }
      });
      const sockets = new Set<Socket>();
      server.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      const srv = server;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
          srv.off('error', reject);
          resolve();
        });
      });
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      return new JanusPeer(started, exited, srv, sockets, dir, janusPort, port, mountpoints);
    } catch (error) {
      if (server) server.close();
      if (child) await stopGroup(child, new Promise((r) => (child!.exitCode !== null || child!.signalCode !== null ? r() : child!.once('close', () => r()))));
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Stops janus (SIGTERM, then SIGKILL after 3 s), closes the page server, removes the config dir. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const socket of this.sockets) socket.destroy();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await stopGroup(this.child, this.exited);
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }
}

async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!done) {
    signal('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}
