/**
 * Panic alarm to operator (issues #22, #23): from a device's alarm to (a) the alarm's banner shown in
 * an operator's console and (b) the alarm's 4 cameras playing on the wall after the console's
 * auto-switch, for cameras already live and for cameras not yet pulled; p50 and p95 over repeated
 * trials, against the bare Socket.IO push as the floor, in the same run. Three paths for the press:
 *   - http: a panic button's signed POST /api/alarms (AlarmSignature.signedHeaders);
 *   - dc09-tcp: an alarm panel's SIA DC-09 frame, "*ADM-CID" Contact ID 1120 (new panic) encrypted
 *     with AES-128, sent by the test panel (test/support/Dc09Panel.ts, its own encoder) over its
 *     persistent TCP link to the receiver (app.dc09), opened and checked with a NULL at set-up;
 *   - dc09-udp: the same event from the same panel device (another zone, so never a retransmission
 *     of the TCP one) in a UDP datagram.
 *
 *   npm run bench:alarm -- [--full] [--trials N] [--out DIR] [--json-only]
 *
 * Set-up: the camera simulator with 4 stamped, tagged cameras (640x360@25 H.264 baseline 800 kbps,
 * GOP 1 s), approved in the catalog (agency, municipality Norte) and linked to two alarm devices made
 * through REST as an admin (POST /api/alarm-devices) at the same place: a panic button (HTTP key) and
 * an alarm panel (DC-09 account, AES-128 key). One operator covering agency/Norte.
 *
 * Per trial: a fresh browser context signs the operator in (single-use console link), waits for
 * the console to be ready, turns auto-switch on (window.c5.setAutoSwitch(true)); the wall is empty
 * (a wall saved empty in its localStorage; otherwise a first console fills it from the camera list).
 * Then the floor pushes (below), the cameras are put in the trial's state, a random wait of up to
 * one GOP, t0 = Date.now() just before the press: the signed fetch, or the panel's send of the
 * frame (its encryption included). Measured:
 *   - banner: bannerShownAt of the alarm (window.c5.alarms(): performance.timeOrigin + now() when its
 *     card first rendered), put on the page's Date.now() clock (the offset of the two clocks is read
 *     in the page after each trial and subtracted; it stays under a millisecond or two), minus t0;
 *   - playing: the last of the alarm's 4 cameras to show its first decoded frame on the wall, minus
 *     t0. A frame counts when requestVideoFrameCallback fires for a <video> in a tile and the frame
 *     carries that camera's tag (the decoder of sampler.ts: a correct picture, not a black frame);
 *   - and, to split the banner time: announce = when the server emitted alarmRaised (the bench
 *     wraps the App's SignallingServer.alarmRaised in this process) minus t0, which covers the HTTP
 *     request (or the frame: reading, decryption, the device's account), the signature, the rate
 *     limits, opening the incident, the stores and the audit; the intake round trip (t0 to the
 *     201's arrival, or to the panel's decoded ACK).
 * After the trial the operator closes the alarm (POST /api/alarms/{id}/close, disposition 'test', so
 * the next press opens a new alarm instead of joining this one) and the context closes.
 *
 * Modes, alternating trial by trial (cold, live, cold, live, ...), for each path in turn:
 *   - live ("already live"): C5 Live holds a lease on each of the 4 cameras (as for an always-on
 *     camera or another operator watching them), live for 2.5 s before the press;
 *   - cold ("not yet pulled"): idle close 0; no lease, no viewer: C5 Live's ingest of each camera is
 *     idle (checked) when the alarm is sent, and is started by the auto-switched wall.
 * In both modes the cameras themselves stream all the time, as real cameras do: a bare RTSP client
 * (ffmpeg -c copy to null, not C5 Live) holds each simulator mount, so the simulator's encoder keeps
 * running and the press lands anywhere in the camera's GOP. (Without it the simulator would start an
 * encoder on C5 Live's connection and its first picture would be a keyframe: kinder than a camera.)
 *
 * Floor: the bare Socket.IO push, which isolates the transport from the alarm path. A namespace of
 * the App's own Socket.IO server (/bench-floor: same HTTP server, engine, WebSocket stack and event
 * loop as the console's signalling, none of its auth or logic) and, in the same console page of the
 * same trial, a socket.io-client (its browser bundle, WebSocket transport as the console uses)
 * connected to it. The bench emits a small event from the server (Date.now() just before emit) and
 * the page notes Date.now() in its handler: the floor is handler time minus emit time, 5 pushes per
 * trial 100 ms apart, just before the press. What the banner takes beyond announce + floor is the
 * console's own work (handling alarmRaised, rendering the card).
 *
 * Targets (issue #22, applied to every path): banner p50 <= 300 ms; cameras playing p50 <= 2000 ms
 * when not yet pulled. A missed target is reported (targets.<path>.*.met false), not an error: the
 * exit code is non-zero only when something could not run (a trial without its banner or frames, a
 * peer that did not start, a frame not ACKed). Quick mode 8 trials per mode and path, --full 25.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Server as SocketIoServer } from 'socket.io';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { launchChromium, type LaunchedChromium } from '../../test/support/browser.ts';
import { signedHeaders } from '../../server/alarms/AlarmSignature.ts';
import { Dc09Panel } from '../../test/support/Dc09Panel.ts';
import type { CameraCreate } from '../../server/catalog/cameraSchemas.ts';
import type { AlarmView } from '../../server/signalling/protocol.ts';
import { Cleanups } from './Cleanups.ts';
import { benchmarkCommandLine, sleep } from './host.ts';
import { logger, report } from './report.ts';
import { median, percentile, round1 } from './stats.ts';
import type { PlotSpec } from './plot.ts';

const MODES = ['cold', 'live'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = { cold: 'not yet pulled', live: 'already live' };
const PATHS = ['http', 'dc09-tcp', 'dc09-udp'] as const;
type PressPath = (typeof PATHS)[number];
const PATH_LABEL: Record<PressPath, string> = { http: 'signed HTTP POST', 'dc09-tcp': 'DC-09 AES-128 over TCP', 'dc09-udp': 'DC-09 AES-128 over UDP' };
/** The panel's account (3-16 hex digits) and, per transport, its Contact ID event: new panic (1 120), partition 01, a zone of its own. */
const PANEL_ACCOUNT = 'BE0001';
const PANEL_EVENT: Record<'tcp' | 'udp', string> = { tcp: '1120 01 001', udp: '1120 01 002' };
const GOP_S = 1;
const CAMERA_COUNT = 4;
const PLACE = { lat: 19.4326, lng: -99.1332 };
const MUNICIPALITY = 'Norte';
const TARGET = { bannerP50Ms: 300, playingColdP50Ms: 2000 };
/** How long the cameras are live before a live trial's press. */
const WARM_MS = 2500;
/** After the console is ready: let the page settle (scripts compiled, camera list loaded). */
const SETTLE_MS = 800;
const FLOOR_PUSHES = 5;
const TRIAL_TIMEOUT_MS = 30_000;

const cameras: CameraConfig[] = Array.from({ length: CAMERA_COUNT }, (_, i) => ({
  id: `alarm-cam-${i + 1}`,
  tag: 21 + i,
  codec: 'h264',
  profile: 'baseline',
  width: 640,
  height: 360,
  fps: 25,
  gop: 25 * GOP_S,
  bitrateKbps: 800,
  stamped: true,
}));
const TAG_OF = new Map(cameras.map((c) => [c.id, c.tag!]));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * In the console page from its first script: notes, for every <video> in a tile, the first frame
 * shown (requestVideoFrameCallback) that carries one of the expected tags (the tag decoder of
 * sampler.ts: blocks of 20x16 px in rows 16..31, LSB left), as window.__alarmBench.first[tag] =
 * Date.now(); and when the wall first held all the alarm's cameras (window.c5.tiles()).
 */
function pageScript(tags: number[], codes: string[]): string {
  return `(() => {
  const W = 640, H = 32, BW = 20, BH = 16;
  const tags = new Set(${JSON.stringify(tags)});
  const codes = ${JSON.stringify(codes)};
  // A wall saved empty (client/src/Wall.ts, 'c5.wall'): a console without one fills its wall from
  // the camera list, which would put the alarm's cameras on it before the press.
  try { if (!localStorage.getItem('c5.wall')) localStorage.setItem('c5.wall', JSON.stringify({ layout: 4, cameras: [] })); } catch (e) { /* no storage */ }
  const bench = { first: {}, wallAt: null, unreadable: 0, errors: [] };
  window.__alarmBench = bench;
  let ctx;
  const readTag = (d) => {
    const y = 16 + BH / 2;
    let v = 0;
    for (let i = 0; i < 16; i++) {
      const k = (y * W + i * BW + BW / 2) * 4;
      if ((d[k] + d[k + 1] + d[k + 2]) / 3 >= 128) v += 2 ** i;
    }
    return v;
  };
  const hooked = new WeakSet();
  const hook = (video) => {
    hooked.add(video);
    const onFrame = () => {
      const at = Date.now();
      let done = false;
      try {
        if (video.videoWidth >= W && video.videoHeight >= H) {
          if (!ctx) {
            const c = document.createElement('canvas');
            c.width = W;
            c.height = H;
            ctx = c.getContext('2d', { willReadFrequently: true });
          }
          ctx.drawImage(video, 0, 0, W, H, 0, 0, W, H);
          const tag = readTag(ctx.getImageData(0, 0, W, H).data);
          if (tags.has(tag)) {
            if (!(tag in bench.first)) bench.first[tag] = at;
            done = true;
          }
        } else bench.unreadable++;
      } catch (e) { bench.unreadable++; if (bench.errors.length < 10) bench.errors.push(String(e && e.message || e)); }
      if (!done && video.isConnected) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  const scan = () => { for (const v of document.querySelectorAll('[data-camera-id] video')) if (!hooked.has(v)) hook(v); };
  new MutationObserver(scan).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-camera-id'] });
  const poll = setInterval(() => {
    scan();
    if (bench.wallAt === null && window.c5 && window.c5.ready) {
      const shown = new Set(window.c5.tiles().map((t) => t.cameraId));
      if (codes.every((c) => shown.has(c))) bench.wallAt = Date.now();
    }
    if (bench.wallAt !== null && Object.keys(bench.first).length >= tags.size) clearInterval(poll);
  }, 20);
})();`;
}

interface PageState {
  first: Record<string, number>;
  wallAt: number | null;
  unreadable: number;
  errors: string[];
  alarms: Array<{ id: string; status: string; cameras: string[]; bannerShownAt?: number }>;
  /** performance.timeOrigin + performance.now() - Date.now() in the page */
  skew: number;
  floor: Record<string, number>;
  tiles: Array<{ cameraId?: string; state: string; reason?: string }>;
}

interface Trial {
  path: PressPath;
  mode: Mode;
  trial: number;
  alarmId?: string;
  /** t0 -> the alarm's card rendered in the banner */
  bannerMs: number | null;
  /** t0 -> every one of the alarm's cameras showed a decoded, tagged frame on the wall */
  playingMs: number | null;
  /** t0 -> the server emitted alarmRaised */
  announceMs: number | null;
  /** t0 -> the intake's answer arrived (the 201, or the panel's ACK) */
  intakeRoundTripMs: number | null;
  /** t0 -> the wall held all the alarm's cameras (auto-switch done) */
  wallMs: number | null;
  /** per camera, t0 -> its first tagged frame */
  firstFrameMs: Record<string, number | null>;
  /** this trial's floor pushes (ms, server emit -> page handler) */
  floorMs: number[];
  clockSkewMs: number | null;
  gopOffsetMs: number;
  error?: string;
}

interface Percentiles {
  p50: number | null;
  p95: number | null;
  min: number | null;
  max: number | null;
  n: number;
}

function percentiles(values: readonly (number | null)[]): Percentiles {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return {
    p50: round1(median(v)),
    p95: round1(percentile(v, 95)),
    min: v.length ? round1(Math.min(...v)) : null,
    max: v.length ? round1(Math.max(...v)) : null,
    n: v.length,
  };
}

/** A bare RTSP client of a simulator mount that keeps its encoder running (stream copy to nothing). */
function holdCamera(url: string): ChildProcess {
  const ffmpeg = process.env.FFMPEG_BIN ?? 'ffmpeg';
  const child = spawn(ffmpeg, ['-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', url, '-map', '0:v', '-c', 'copy', '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', () => undefined);
  return child;
}

class Bench {
  leases: Array<{ release(): void }> = [];
  /** The alarm the last DC-09 frame opened. */
  dc09AlarmId: string | undefined;
  readonly alarmIds = new Set<string>();
  readonly announcedAt = new Map<string, number>();
  floorSeq = 0;
  /** The floor's namespace (untyped: the bench's own, not the console's protocol; no auth, no handlers). */
  readonly floorNamespace: ReturnType<SocketIoServer['of']>;

  constructor(
    readonly t: TestApp,
    readonly chromium: LaunchedChromium,
    readonly operatorId: string,
    readonly operatorToken: string,
    readonly device: { code: string; key: string },
    readonly panels: Record<'tcp' | 'udp', Dc09Panel>,
    readonly socketIoClient: string,
  ) {
    // The DC-09 receiver's outcome of each frame names the alarm it opened (the ACK does not).
    const receiver = t.app.dc09;
    if (!receiver) throw new Error('the DC-09 receiver is not running');
    receiver.onOutcome = (outcome) => {
      if (outcome.alarmId) this.dc09AlarmId = outcome.alarmId;
    };
    this.floorNamespace = (t.app.signalling.io as unknown as SocketIoServer).of('/bench-floor');
    // Note when the server emits alarmRaised (AlarmService calls signalling.alarmRaised at call time).
    const signalling = t.app.signalling;
    const original = signalling.alarmRaised.bind(signalling);
    signalling.alarmRaised = (alarm: AlarmView) => {
      if (!this.announcedAt.has(alarm.id)) this.announcedAt.set(alarm.id, Date.now());
      return original(alarm);
    };
  }


  state(code: string): string | undefined {
    return this.t.app.cameras.status(code)?.state;
  }

  async prepare(mode: Mode): Promise<void> {
    const codes = cameras.map((c) => c.id);
    if (mode === 'live') {
      if (this.leases.length === 0) this.leases = await Promise.all(codes.map((code) => this.t.app.cameras.acquire(code)));
      await until('the cameras live in C5 Live', () => codes.every((code) => this.state(code) === 'live'));
      await sleep(WARM_MS);
    } else {
      this.release();
      await until('the cameras idle in C5 Live', () => codes.every((code) => ['idle', 'closed', undefined].includes(this.state(code))));
    }
  }

  release(): void {
    for (const lease of this.leases) lease.release();
    this.leases = [];
  }

  async api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.t.app.consoleUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.operatorToken}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async openConsole(page: Page): Promise<void> {
    const code = this.t.app.loginCodes.issue({ userId: this.operatorId, role: 'operator' });
    await page.addInitScript({ content: pageScript(cameras.map((c) => c.tag!), cameras.map((c) => c.id)) });
    await page.goto(`${this.t.app.consoleUrl}/#code=${encodeURIComponent(code)}`, { timeout: 20_000 });
    await page.waitForFunction('window.c5 !== undefined && window.c5.ready === true && window.c5.user() !== undefined', undefined, { timeout: 20_000, polling: 50 });
    await page.evaluate('window.c5.setAutoSwitch(true)');
    // The floor's client: socket.io-client's browser bundle, WebSocket only, as the console connects.
    await page.evaluate(this.socketIoClient);
    await page.evaluate(`new Promise((resolve, reject) => {
      window.__floor = {};
      const s = io('/bench-floor', { path: '/socket.io', transports: ['websocket'], forceNew: true, reconnection: false });
      s.on('push', (seq) => { window.__floor[seq] = Date.now(); });
      s.once('connect', resolve);
      s.once('connect_error', (e) => reject(new Error(String(e && e.message))));
      window.__floorSocket = s;
    })`);
    await sleep(SETTLE_MS);
  }

  /** Pushes FLOOR_PUSHES events through the bare namespace; returns server emit -> page handler (ms). */
  async floor(page: Page): Promise<number[]> {
    const emitted = new Map<number, number>();
    for (let i = 0; i < FLOOR_PUSHES; i++) {
      const seq = ++this.floorSeq;
      emitted.set(seq, Date.now());
      this.floorNamespace.emit('push', seq);
      await sleep(100);
    }
    await until('the floor pushes in the page', async () => ((await page.evaluate('Object.keys(window.__floor).length')) as number) >= emitted.size, 5000);
    const seen = JSON.parse((await page.evaluate('JSON.stringify(window.__floor)')) as string) as Record<string, number>;
    return [...emitted].map(([seq, at]) => seen[seq]! - at);
  }

  async press(path: PressPath): Promise<{ t0: number; answeredAt: number; alarmId: string }> {
    if (path !== 'http') return this.pressDc09(path === 'dc09-tcp' ? 'tcp' : 'udp');
    const body = JSON.stringify({ type: 'alarm', note: 'bench:alarm' });
    const headers = { 'content-type': 'application/json', ...signedHeaders({ deviceCode: this.device.code, keyHex: this.device.key, body }) };
    const t0 = Date.now();
    const res = await fetch(`${this.t.app.consoleUrl}/api/alarms`, { method: 'POST', headers, body });
    const answeredAt = Date.now();
    const answer = (await res.json()) as { outcome?: string; alarmId?: string; error?: unknown };
    if (res.status !== 201 || answer.outcome !== 'opened' || !answer.alarmId) throw new Error(`the press was answered ${res.status} ${JSON.stringify(answer)}`);
    this.alarmIds.add(answer.alarmId);
    return { t0, answeredAt, alarmId: answer.alarmId };
  }

  /** The panel sends its panic event (a new sequence number, encrypted) and waits for the ACK. */
  async pressDc09(transport: 'tcp' | 'udp'): Promise<{ t0: number; answeredAt: number; alarmId: string }> {
    this.dc09AlarmId = undefined;
    const t0 = Date.now();
    const sent = await this.panels[transport].send({ token: 'ADM-CID', data: PANEL_EVENT[transport] });
    const answeredAt = Date.now();
    if (sent.answer !== 'ACK' || sent.attempts !== 1) throw new Error(`the DC-09 frame over ${transport} was answered ${sent.answer} after ${sent.attempts} transmissions: ${JSON.stringify(sent.raw)}`);
    const alarmId = this.dc09AlarmId as string | undefined;
    // A new alarm each time (the previous trial's was closed): an alarm seen before means the frame joined one.
    if (!alarmId || this.alarmIds.has(alarmId)) throw new Error(`the DC-09 frame over ${transport} opened no new alarm (${alarmId ?? 'none'})`);
    this.alarmIds.add(alarmId);
    return { t0, answeredAt, alarmId };
  }

  async run(path: PressPath, mode: Mode, trial: number): Promise<Trial> {
    const result: Trial = { path, mode, trial, bannerMs: null, playingMs: null, announceMs: null, intakeRoundTripMs: null, wallMs: null, firstFrameMs: {}, floorMs: [], clockSkewMs: null, gopOffsetMs: 0 };
    const page = await this.chromium.newPage();
    let alarmId: string | undefined;
    try {
      await this.openConsole(page);
      result.floorMs = await this.floor(page);
      await this.prepare(mode);
      if ((await page.evaluate('window.c5.tiles().filter((t) => t.cameraId !== undefined).length')) !== 0) throw new Error('the wall was not empty before the press');
      // Land anywhere in the cameras' GOP (their encoders run all the time).
      result.gopOffsetMs = Math.round(Math.random() * GOP_S * 1000);
      await sleep(result.gopOffsetMs);
      const pressed = await this.press(path);
      alarmId = result.alarmId = pressed.alarmId;
      const { t0 } = pressed;
      result.intakeRoundTripMs = pressed.answeredAt - t0;
      const done = `(() => {
        const a = window.c5.alarms().find((x) => x.id === ${JSON.stringify(alarmId)});
        return Boolean(a && a.bannerShownAt !== undefined && Object.keys(window.__alarmBench.first).length >= ${CAMERA_COUNT});
      })()`;
      let timedOut = false;
      await page.waitForFunction(done, undefined, { timeout: TRIAL_TIMEOUT_MS, polling: 20 }).catch(() => (timedOut = true));
      const state = JSON.parse(
        (await page.evaluate(`JSON.stringify({
          first: window.__alarmBench.first, wallAt: window.__alarmBench.wallAt, unreadable: window.__alarmBench.unreadable, errors: window.__alarmBench.errors,
          alarms: window.c5.alarms(), skew: performance.timeOrigin + performance.now() - Date.now(), floor: window.__floor, tiles: window.c5.tiles(),
        })`)) as string,
      ) as PageState;
      const alarm = state.alarms.find((a) => a.id === alarmId);
      result.clockSkewMs = round1(state.skew);
      if (alarm?.bannerShownAt !== undefined) result.bannerMs = round1(alarm.bannerShownAt - state.skew - t0);
      const announced = this.announcedAt.get(alarmId);
      if (announced !== undefined) result.announceMs = announced - t0;
      if (state.wallAt !== null) result.wallMs = state.wallAt - t0;
      for (const cam of cameras) {
        const at = state.first[String(cam.tag)];
        result.firstFrameMs[cam.id] = at === undefined ? null : at - t0;
      }
      const firsts = Object.values(result.firstFrameMs);
      if (firsts.every((x) => x !== null)) result.playingMs = Math.max(...(firsts as number[]));
      if (alarm && [...alarm.cameras].sort().join() !== cameras.map((c) => c.id).sort().join()) result.error = `the alarm's cameras were ${alarm.cameras.join(', ')}`;
      if (timedOut) {
        result.error = `not done within ${TRIAL_TIMEOUT_MS} ms: banner ${alarm?.bannerShownAt !== undefined ? 'shown' : 'missing'}, frames of tags ${Object.keys(state.first).join(',') || 'none'}, tiles ${JSON.stringify(state.tiles)}, unreadable ${state.unreadable} ${state.errors.join('; ')}`;
      }
    } catch (error) {
      result.error = error instanceof Error ? error.message : String(error);
    } finally {
      if (alarmId) {
        const closed = await this.api('POST', `/api/alarms/${alarmId}/close`, { disposition: 'test', note: 'bench:alarm trial' }).catch((e: unknown) => ({ status: 0, body: String(e) }));
        if (closed.status !== 200 && !result.error) result.error = `closing alarm ${alarmId}: ${closed.status} ${JSON.stringify(closed.body)}`;
      }
      await page.context().close().catch(() => undefined);
    }
    return result;
  }
}

async function main(): Promise<number> {
  const args = benchmarkCommandLine({ trials: { type: 'string' } }, (flags, { full }) => ({
    trials: flags.integer('trials', { min: 1, max: 200, fallback: full ? 25 : 8 }),
  }));
  const { trials } = args;
  const log = logger(args);
  const cleanups = new Cleanups();
  const failures: string[] = [];
  const results: Trial[] = [];
  try {
    log(`starting the camera simulator (${CAMERA_COUNT} cameras, 640x360@25, GOP ${GOP_S} s, stamped)`);
    const sim = await Simulator.start({ config: { cameras } });
    cleanups.add('the camera simulator', () => sim.stop());
    // The cameras stream all the time (see the module comment): one bare RTSP client per mount.
    const holders = cameras.map((c) => holdCamera(sim.url(c.id)));
    cleanups.add('the RTSP holders', () => Promise.all(holders.map((h) => (h.exitCode === null ? new Promise((done) => (h.once('exit', done), h.kill('SIGTERM'))) : undefined))));
    await until('the simulator encoding every camera', async () => {
      const status = await sim.status();
      return cameras.every((c) => (status.cameras.find((s) => s.id === c.id)?.clients ?? 0) >= 1);
    });

    log('starting C5 Live (idle close 0)');
    const t = await startTestApp({ logLevel: 'info', media: { workers: 1 } });
    cleanups.add('C5 Live', () => t.close());
    for (const [i, cam] of cameras.entries()) {
      const input: CameraCreate = {
        code: cam.id,
        name: `Alarm camera ${i + 1}`,
        area: 'agency',
        owner: { kind: 'organisation', name: 'Bench' },
        category: 'street',
        municipality: MUNICIPALITY,
        location: { lat: PLACE.lat + (i + 1) * 0.0002, lng: PLACE.lng },
        mainUrl: sim.url(cam.id),
        transport: 'tcp',
        alwaysOn: false,
        tags: [],
      };
      await t.app.catalog.create(input, { status: 'approved' });
    }
    const adminToken = await t.token('admin');
    const created = await fetch(`${t.app.consoleUrl}/api/alarm-devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        code: 'bench-button-1',
        name: 'Bench panic button',
        kind: 'fixed_button',
        owner: { name: 'Bench shop', phone: '+52 55 5555 0000' },
        location: PLACE,
        area: 'agency',
        municipality: MUNICIPALITY,
        cameras: cameras.map((c) => c.id),
      }),
    });
    const device = (await created.json()) as { device?: { code: string }; httpKey?: string };
    if (created.status !== 201 || !device.httpKey || !device.device) throw new Error(`creating the alarm device: ${created.status} ${JSON.stringify(device)}`);
    // The alarm panel: same place and cameras, reporting over SIA DC-09 with AES-128.
    const panelCreated = await fetch(`${t.app.consoleUrl}/api/alarm-devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        code: 'bench-panel-1',
        name: 'Bench alarm panel',
        kind: 'alarm_panel',
        owner: { name: 'Bench shop', phone: '+52 55 5555 0000' },
        location: PLACE,
        area: 'agency',
        municipality: MUNICIPALITY,
        cameras: cameras.map((c) => c.id),
        dc09: { account: PANEL_ACCOUNT, encryption: 'aes128' },
      }),
    });
    const panelDevice = (await panelCreated.json()) as { dc09Key?: string };
    if (panelCreated.status !== 201 || !panelDevice.dc09Key) throw new Error(`creating the alarm panel: ${panelCreated.status} ${JSON.stringify(panelDevice)}`);
    const panelOptions = { host: '127.0.0.1', port: t.app.dc09!.port, account: PANEL_ACCOUNT, keyHex: panelDevice.dc09Key, ackTimeoutMs: 3000, retries: 0 };
    const panels = { tcp: new Dc09Panel({ ...panelOptions, transport: 'tcp' }), udp: new Dc09Panel({ ...panelOptions, transport: 'udp' }) };
    cleanups.add('the DC-09 test panels', () => Promise.all([panels.tcp.close(), panels.udp.close()]));
    // A link test on each: the TCP link is open (as a panel's persistent link) before the first press.
    for (const [transport, panel] of Object.entries(panels)) {
      const linked = await panel.send({ token: 'NULL' });
      if (linked.answer !== 'ACK') throw new Error(`the DC-09 panel's NULL over ${transport} was answered ${linked.answer}: ${JSON.stringify(linked.raw)}`);
    }
    const operatorId = await t.user('operator', { areas: ['agency'], municipalities: [MUNICIPALITY] });
    const operatorToken = t.app.tokens.issue({ userId: operatorId, role: 'operator', authTime: Math.floor(Date.now() / 1000) }).token;
    const require = createRequire(import.meta.url);
    const socketIoClient = readFileSync(join(require.resolve('socket.io-client/package.json'), '..', 'dist', 'socket.io.min.js'), 'utf8');

    log('launching Chromium');
    const chromium = await launchChromium();
    cleanups.add('Chromium', () => chromium.close());
    const bench = new Bench(t, chromium, operatorId, operatorToken, { code: device.device.code, key: device.httpKey }, panels, socketIoClient);
    cleanups.add('the C5 Live leases', () => bench.release());

    for (let trial = 1; trial <= trials; trial++) {
      for (const path of PATHS) {
        for (const mode of MODES) {
          const r = await bench.run(path, mode, trial);
          results.push(r);
          if (r.error) failures.push(`${path} ${MODE_LABEL[mode]} trial ${trial}: ${r.error}`);
          log(
            `trial ${trial}/${trials} ${path} ${MODE_LABEL[mode]}: banner ${r.bannerMs ?? '-'} ms (announce ${r.announceMs ?? '-'}, intake answer ${r.intakeRoundTripMs ?? '-'}), ` +
              `wall ${r.wallMs ?? '-'} ms, playing ${r.playingMs ?? '-'} ms [${Object.values(r.firstFrameMs).join(', ')}], floor ${r.floorMs.join('/')} ms${r.error ? ` ERROR ${r.error}` : ''}`,
          );
        }
      }
    }
    bench.release();
  } catch (error) {
    failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    await cleanups.run();
  }

  type Measure = 'bannerMs' | 'playingMs' | 'announceMs' | 'intakeRoundTripMs' | 'wallSwitchedMs' | 'announceToBannerMs';
  const measures = (trialsOf: Trial[]): Record<Measure, Percentiles> => ({
    bannerMs: percentiles(trialsOf.map((r) => r.bannerMs)),
    playingMs: percentiles(trialsOf.map((r) => r.playingMs)),
    announceMs: percentiles(trialsOf.map((r) => r.announceMs)),
    intakeRoundTripMs: percentiles(trialsOf.map((r) => r.intakeRoundTripMs)),
    wallSwitchedMs: percentiles(trialsOf.map((r) => r.wallMs)),
    /** the banner minus the server's announce: transport + the console's handling and rendering */
    announceToBannerMs: percentiles(trialsOf.map((r) => (r.bannerMs !== null && r.announceMs !== null ? r.bannerMs - r.announceMs : null))),
  });
  const pathTable = Object.fromEntries(
    PATHS.map((path) => {
      const ofPath = results.filter((r) => r.path === path);
      return [
        path,
        {
          label: PATH_LABEL[path],
          ...measures(ofPath),
          modes: Object.fromEntries(MODES.map((mode) => [mode, { label: MODE_LABEL[mode], ...measures(ofPath.filter((r) => r.mode === mode)) }])) as Record<Mode, Record<Measure, Percentiles> & { label: string }>,
        },
      ];
    }),
  ) as Record<PressPath, Record<Measure, Percentiles> & { label: string; modes: Record<Mode, Record<Measure, Percentiles> & { label: string }> }>;
  const floor = percentiles(results.flatMap((r) => r.floorMs));
  const targets = Object.fromEntries(
    PATHS.map((path) => {
      const banner = pathTable[path].bannerMs.p50;
      const cold = pathTable[path].modes.cold.playingMs.p50;
      return [
        path,
        {
          bannerP50: { targetMs: TARGET.bannerP50Ms, measuredMs: banner, met: banner !== null && banner <= TARGET.bannerP50Ms },
          playingColdP50: { targetMs: TARGET.playingColdP50Ms, measuredMs: cold, met: cold !== null && cold <= TARGET.playingColdP50Ms },
        },
      ];
    }),
  ) as Record<PressPath, Record<'bannerP50' | 'playingColdP50', { targetMs: number; measuredMs: number | null; met: boolean }>>;
  const ms = (v: number | null) => (v === null ? '?' : `${Math.round(v)}`);
  const pp = (p: Percentiles) => `${ms(p.p50)}/${ms(p.p95)}`;
  const allMet = PATHS.every((path) => targets[path].bannerP50.met && targets[path].playingColdP50.met);
  const missed = PATHS.flatMap((path) => [...(targets[path].bannerP50.met ? [] : [`${path} banner`]), ...(targets[path].playingColdP50.met ? [] : [`${path} not-yet-pulled playing`])]);
  const summary =
    `alarm (ms p50/p95, ${trials} trials per mode and path): ` +
    PATHS.map((path) => {
      const row = pathTable[path];
      return `${path}: banner ${pp(row.bannerMs)} (server announce ${pp(row.announceMs)}), playing live ${pp(row.modes.live.playingMs)}, not yet pulled ${pp(row.modes.cold.playingMs)}`;
    }).join('; ') +
    `; floor (bare Socket.IO push) ${floor.p50 === null ? '?' : floor.p50.toFixed(1)}/${floor.p95 === null ? '?' : floor.p95.toFixed(1)}; ` +
    `targets (every path): banner p50 <= ${TARGET.bannerP50Ms}, not-yet-pulled playing p50 <= ${TARGET.playingColdP50Ms}: ${allMet ? 'met' : `MISSED ${missed.join(', ')}`}`;
  const bar = (p: Percentiles) => ({ y: p.p50, yMin: p.min, yMax: p.max });
  const plot: PlotSpec = {
    title: 'Panic alarm -> operator console (signed POST or DC-09 frame -> banner, -> 4 cameras playing)',
    subtitle: `p50, min-max of ${trials} trials per mode and path; 4 cameras 640x360@25, GOP ${GOP_S} s; floor: server emit -> page handler`,
    kind: 'bar',
    xLabel: 'measure',
    yLabel: 'ms',
    series: PATHS.flatMap((path) =>
      MODES.map((mode) => ({
        label: `${path}, ${MODE_LABEL[mode]}`,
        points: [
          { x: 'floor: Socket.IO push', ...bar(floor) },
          { x: 'server announce', ...bar(pathTable[path].modes[mode].announceMs) },
          { x: 'banner shown', ...bar(pathTable[path].modes[mode].bannerMs) },
          { x: 'cameras playing', ...bar(pathTable[path].modes[mode].playingMs) },
        ],
      })),
    ),
  };
  return report(args, {
    name: 'alarm',
    result: {
      trialsPerMode: trials,
      paths: PATHS,
      camera: `${CAMERA_COUNT} cameras linked to the device, 640x360@25 H.264 baseline 800 kbps, GOP ${GOP_S} s (25 frames), stamped and tagged; encoders running throughout (bare RTSP holder)`,
      statistic:
        'ms from t0 (Date.now() just before the signed POST /api/alarms, or the DC-09 panel\'s send of its encrypted frame) to: the alarm card rendered (bannerShownAt, on the page Date.now() clock), the last of the 4 cameras to show a tagged decoded frame on the auto-switched wall; p50 (median), p95 (nearest rank), min, max, n; fresh console per trial',
      floor: {
        what: 'bare Socket.IO push: server emit on a namespace of the App\'s own Socket.IO server -> handler of a socket.io-client (WebSocket) in the same console page; 5 pushes per trial before the press',
        ms: floor,
      },
      byPath: pathTable,
      targets,
      trials: results,
    },
    summary,
    plots: plot,
    failures,
  });
}

const code = await main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
process.exit(code);
