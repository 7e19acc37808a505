/**
 * Glass-to-glass latency: C5 Live (WebRTC, the operator console), Janus (streaming plugin, janus.js)
 * and rtsp-relay (MPEG-1 over WebSocket, JSMpeg), the same stamped simulated camera, the same
 * headless Chromium; with one viewer, and again while N other viewers (default 20) watch it.
 *
 *   npm run bench:latency -- [--full] [--seconds S] [--trials N] [--viewers 20] [--systems c5,rtspRelay,janus,floor] [--cameras stamped,slices] [--c5-transport udp|tcp] [--out DIR] [--dump DIR] [--json-only]
 *   quick mode (default): 2 trials of 10 s per system, variant and camera; --full: 5 trials of 20 s.
 *
 * Two cameras, one after the other (each with its own C5 Live, Janus and rtsp-relay, stopped before
 * the next camera starts): 'stamped', 640x360@25 with one slice per frame, and 'slices', 1280x720@30
 * whose x264 encoder cuts every frame into 2 slices (what many real cameras send; ffmpeg's RTSP
 * demuxer split such keyframes, FINDINGS.md).
 *
 * C5 Live pulls the camera over RTP/UDP here (--c5-transport tcp: interleaved TCP, the product's
 * default): on this simulator a TCP-interleaved session makes gst-rtsp-server's shared mount ~20 ms
 * later for EVERY client of it (the floor read 40 -> 62 ms p50 while C5 Live's relay pulled over TCP,
 * and went back when it left; unchanged with the relay on UDP), so TCP would distort the other
 * systems' numbers too. Janus pulls over UDP.
 *
 * The floor ('floor', GStreamerFloor.ts): a native GStreamer decoder of the same RTSP mount
 * (rtspsrc latency=0 ! rtph264depay ! avdec_h264), no browser and no server, reading the stamp of
 * every decoded frame: how early this machine can have the frame at all. It runs in the single
 * variant only (load viewers are a server's burden), cold like C5 Live (a new RTSP session per
 * trial), and the summary gives C5 Live's distance from it (p50 and p95 differences of the medians).
 *
 * Every frame of the camera carries the sender's Date.now() (mod 2^32) as blocks in its top rows
 * (scripts/camsim, test/support/frames.ts). The page decodes the stamp of every frame it shows and
 * notes its own Date.now(); the difference is the glass-to-glass latency on one machine and one
 * clock. C5 Live and Janus: the <video>, sampled in requestVideoFrameCallback. rtsp-relay: JSMpeg's
 * 2D canvas, sampled in onVideoDecode (right after the frame was drawn).
 *
 * Trials alternate: for each round, 1 viewer then loaded, each system in turn (A B C A B C). A
 * trial opens a fresh browser context; in the single variant the camera is idle before it for
 * C5 Live (ingest closed at once) and rtsp-relay (ffmpeg stopped with its last client), so its first
 * frame is cold; Janus pulls the camera all along. In the loaded variant N receive-only viewers
 * (LoadViewers.ts: WebRTC peer connections in one Chromium page for C5 Live and Janus, WebSockets
 * for rtsp-relay) are opened first and stay during the trial. A trial records for --seconds after
 * its first frame; the first second is dropped.
 *
 * Writes DIR/latency.json and DIR/latency.png; stdout: the JSON, then one summary line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { launchChromium, sampleVideo, type LaunchedChromium } from '../../test/support/browser.ts';
import { RtspRelayPeer } from './RtspRelayPeer.ts';
import { JanusPeer } from './JanusPeer.ts';
import { GStreamerFloor } from './GStreamerFloor.ts';
import { samplerScript, type PageBench, type PageFrame } from './sampler.ts';
import { analyzeFrames, type FrameAnalysis } from './latencyAnalysis.ts';
import { percentile, round1, spread, type Spread } from './stats.ts';
import { Cleanups, withTimeout } from './Cleanups.ts';
import { benchmarkCommandLine, cpuBusyShare, machineCpu, sleep, type CommonArgs, type CpuReading } from './host.ts';
import { logger, report } from './report.ts';
import { LoadViewers, loadWindow, type LoadWindow } from './LoadViewers.ts';
import type { PlotSpec } from './plot.ts';

const SYSTEMS = ['c5', 'rtspRelay', 'janus', 'floor'] as const;
type System = (typeof SYSTEMS)[number];
const LABEL: Record<System, string> = { c5: 'C5 Live', rtspRelay: 'rtsp-relay', janus: 'Janus', floor: 'GStreamer floor' };

const CAMERAS = {
  stamped: {
    id: 'cam-stamped',
    tag: 1,
    codec: 'h264',
    profile: 'baseline',
    width: 640,
    height: 360,
    fps: 25,
    gop: 25,
    bitrateKbps: 800,
    stamped: true,
  },
  slices: {
    id: 'cam-slices',
    tag: 2,
    codec: 'h264',
    profile: 'baseline',
    width: 1280,
    height: 720,
    fps: 30,
    gop: 30,
    bitrateKbps: 2500,
    slices: 2,
    stamped: true,
  },
} as const satisfies Record<string, CameraConfig>;
type CameraName = keyof typeof CAMERAS;
const CAMERA_NAMES = Object.keys(CAMERAS) as CameraName[];
type BenchCamera = (typeof CAMERAS)[CameraName];
const CAMERA_LABEL: Record<CameraName, string> = { stamped: '640x360@25, 1 slice', slices: '1280x720@30, 2 slices' };

const WARMUP_MS = 1000;
const FIRST_FRAME_TIMEOUT_MS = 30_000;

interface Args extends CommonArgs {
  seconds: number;
  trials: number;
  systems: System[];
  cameras: CameraName[];
  c5Transport: 'udp' | 'tcp';
  /** Load viewers in the loaded variant. */
  viewers: number;
  /** Directory to write every trial's raw frames to (<system>-<variant>-<trial>.json), for a closer look. */
  dump: string | undefined;
}

function parseCli(): Args {
  return benchmarkCommandLine(
    {
      seconds: { type: 'string' },
      trials: { type: 'string' },
      viewers: { type: 'string', default: '20' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      cameras: { type: 'string', default: CAMERA_NAMES.join(',') },
      'c5-transport': { type: 'string', default: 'udp' },
      dump: { type: 'string' },
    },
    (flags, { full }) => ({
      seconds: flags.number('seconds', { min: 2, max: 600, fallback: full ? 20 : 10 }),
      trials: flags.integer('trials', { min: 1, max: 50, fallback: full ? 5 : 2 }),
      viewers: flags.integer('viewers', { min: 0, max: 200 }),
      systems: flags.names('systems', SYSTEMS, 'system'),
      cameras: flags.names('cameras', CAMERA_NAMES, 'camera'),
      c5Transport: flags.names('c5-transport', ['udp', 'tcp'] as const, 'transport')[0]!,
      dump: flags.values.dump,
    }),
  );
}

interface TrialResult {
  system: System;
  trial: string;
  firstFrameMs: number | null;
  frames: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  min: number | null;
  max: number | null;
  /** frames shown again with a stamp already seen (not counted) */
  repeats: number;
  /** of those, repeats whose stamp read 1..19 ms off the first reading (low-bit noise) */
  noisyRepeats: number;
  /** gaps of more than 100 ms between counted frames */
  stalls: number;
  /** camera frames that never showed */
  missedFrames: number;
  decodeFailures: number;
  /** sampler callbacks that could not read the frame */
  unreadable: number;
  outOfOrder: number;
  /** counted frames per second of receiver time */
  fps: number | null;
  /** share of the machine's CPU (all cores) busy during the measurement window, 0..1 */
  cpuBusy: number | null;
  /** ms after navigation start when each start-up milestone was first seen (sampler.ts marks) */
  startupMs: Record<string, number>;
}

interface TrialRun {
  result: TrialResult;
  latencies: number[];
}

/**
 * One trial: open the page in a fresh browser context, wait for the first frame, record until
 * `seconds` after it, analyse. C5 Live: the init script catches the first frame of the tile's
 * <video> (firstFrameMs), then sampleVideo() (test/support/browser.ts, the browser tests' sampler)
 * samples the tile from the end of the warm-up second on. rtsp-relay: the init script samples every
 * frame JSMpeg decodes.
 */
async function runTrial(
  chromium: LaunchedChromium,
  CAMERA: BenchCamera,
  system: System,
  trial: string,
  seconds: number,
  pageUrl: () => string,
  log: (line: string) => void,
  dumpDir: string | undefined,
): Promise<TrialRun> {
  const page = await chromium.newPage();
  try {
    const tileSelector = `[data-camera-id="${CAMERA.id}"]`;
    const selector = system === 'janus' ? '#janus-video' : `${tileSelector} video:not(.standby)`;
    await page.addInitScript({
      content: samplerScript(
        system === 'rtspRelay'
          ? { mode: 'canvas' }
          : { mode: 'video', selector, untilTag: CAMERA.tag, ...(system === 'c5' && { tileSelector }) },
      ),
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.length < 10 && pageErrors.push(error.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && pageErrors.length < 10) pageErrors.push(msg.text());
    });

    const navigationStart = Date.now();
    await page.goto(pageUrl(), { waitUntil: 'domcontentloaded', timeout: 20_000 });
    const firstFrame = `window.__bench && window.__bench.frames.some((f) => f.tag === ${CAMERA.tag})`;
    try {
      await page.waitForFunction(firstFrame, undefined, { timeout: FIRST_FRAME_TIMEOUT_MS, polling: 20 });
    } catch (error) {
      const state = await page
        .evaluate(`JSON.stringify({ bench: window.__bench, tiles: window.c5 && window.c5.tiles && window.c5.tiles(), relay: window.relayState, janus: window.janusState })`)
        .catch(() => 'unavailable');
      throw new Error(`${LABEL[system]} trial ${trial}: no frame within ${FIRST_FRAME_TIMEOUT_MS} ms (page state ${String(state)}; page errors: ${pageErrors.join(' | ') || 'none'})`, { cause: error });
    }
    const firstAt = (await page.evaluate(`window.__bench.frames.find((f) => f.tag === ${CAMERA.tag}).at`)) as number;
    const endAt = firstAt + seconds * 1000;
    await sleep(firstAt + WARMUP_MS - Date.now());
    const cpuStart = machineCpu().all;
    const frames: PageFrame[] = [];
    let unreadable = 0;
    const early = JSON.parse((await page.evaluate(`JSON.stringify(window.__bench)`)) as string) as PageBench;
    const startup: Record<string, number> = {};
    for (const [name, at] of Object.entries(early.marks).sort((a, b) => a[1] - b[1])) startup[name] = at - navigationStart;
    startup['first-frame'] = firstAt - navigationStart;
    if (system !== 'rtspRelay') {
      frames.push(...early.frames);
      unreadable += early.unreadable;
      const samples = await sampleVideo(page, selector, { durationMs: Math.max(0, endAt - Date.now()) });
      for (const s of samples) {
        if (s.stamp === null || s.tag === null) unreadable++;
        else frames.push({ at: s.receivedAt, stamp: s.stamp, tag: s.tag });
      }
    } else {
      await sleep(endAt - Date.now());
    }
    const cpuEnd = machineCpu().all;
    if (system === 'rtspRelay') {
      const bench = JSON.parse((await page.evaluate(`JSON.stringify(window.__bench)`)) as string) as PageBench;
      frames.push(...bench.frames);
      unreadable += bench.unreadable;
      if (bench.errors.length) log(`  sampler errors: ${bench.errors.slice(0, 3).join(' | ')}`);
    }
    if (dumpDir) {
      mkdirSync(dumpDir, { recursive: true });
      writeFileSync(join(dumpDir, `${CAMERA.id}-${system}-${trial}.json`), JSON.stringify({ navigationStart, firstAt, endAt, frames }));
    }
    return trialRun(CAMERA, system, trial, frames, { navigationStart, endAt, cpuStart, cpuEnd, unreadable, startup });
  } finally {
    await withTimeout(page.context().close(), 10_000, 'closing the browser context').catch(() => undefined);
  }
}

function trialRun(
  CAMERA: BenchCamera,
  system: System,
  trial: string,
  frames: PageFrame[],
  m: { navigationStart: number; endAt: number; cpuStart: CpuReading; cpuEnd: CpuReading; unreadable: number; startup: Record<string, number> },
): TrialRun {
  const { navigationStart, endAt, cpuStart, cpuEnd, unreadable, startup } = m;
  {
    const a: FrameAnalysis = analyzeFrames(frames, {
      tag: CAMERA.tag,
      navigationStart,
      warmupMs: WARMUP_MS,
      frameIntervalMs: 1000 / CAMERA.fps,
      endAt,
    });
    const cpu = cpuBusyShare(cpuStart, cpuEnd);
    const result: TrialResult = {
      system,
      trial,
      firstFrameMs: a.firstFrameMs,
      frames: a.frames,
      p50: round1(a.p50),
      p95: round1(a.p95),
      p99: round1(a.p99),
      min: round1(a.min),
      max: round1(a.max),
      repeats: a.repeats,
      noisyRepeats: a.noisyRepeats,
      stalls: a.stalls,
      missedFrames: a.missedFrames,
      decodeFailures: a.decodeFailures,
      unreadable,
      outOfOrder: a.outOfOrder,
      fps: a.spanMs > 0 ? round1(((a.frames - 1) * 1000) / a.spanMs) : null,
      cpuBusy: Number.isFinite(cpu) ? Math.round(cpu * 100) / 100 : null,
      startupMs: startup,
    };
    return { result, latencies: a.latencies };
  }
}

/**
 * One floor trial: a new gst-launch decoder of the camera's RTSP mount (a new RTSP session, cold
 * like C5 Live's single variant), recorded for `seconds` after its first frame, analysed like a page.
 */
async function runFloorTrial(CAMERA: BenchCamera, rtspUrl: string, trial: string, seconds: number, dumpDir: string | undefined, cleanups: Cleanups): Promise<TrialRun> {
  const floor = GStreamerFloor.start({ rtspUrl, width: CAMERA.width, height: CAMERA.height });
  // Also stopped by the bench's clean-up on a signal (close() is idempotent).
  cleanups.add(`the GStreamer floor (${CAMERA.id} ${trial})`, () => floor.close());
  try {
    const first = await floor.firstFrame(CAMERA.tag, FIRST_FRAME_TIMEOUT_MS);
    const endAt = first.at + seconds * 1000;
    await sleep(first.at + WARMUP_MS - Date.now());
    const cpuStart = machineCpu().all;
    await sleep(endAt - Date.now());
    const cpuEnd = machineCpu().all;
    // Joining a running stream mid-GOP (Janus keeps the shared mount pulled), avdec_h264 outputs
    // grey concealment frames until the first keyframe; a browser never shows those: start at the
    // first frame carrying the camera's tag.
    const frames = floor.frames.slice(floor.frames.indexOf(first));
    if (dumpDir) {
      mkdirSync(dumpDir, { recursive: true });
      writeFileSync(join(dumpDir, `${CAMERA.id}-floor-${trial}.json`), JSON.stringify({ navigationStart: floor.startedAt, firstAt: first.at, endAt, frames }));
    }
    return trialRun(CAMERA, 'floor', trial, frames, { navigationStart: floor.startedAt, endAt, cpuStart, cpuEnd, unreadable: 0, startup: { 'first-frame': first.at - floor.startedAt } });
  } finally {
    await floor.close();
  }
}

const VARIANTS = ['single', 'loaded'] as const;
type Variant = (typeof VARIANTS)[number];

interface SystemSummary {
  /** over trials of each trial's own percentile: median (min-max, n) */
  p50: Spread;
  p95: Spread;
  p99: Spread;
  /** navigation -> first frame (single: cold, the camera idle before; loaded: warm, the load viewers watch it) */
  firstFrameMs: Spread;
  /** pooled over the counted frames of all trials */
  pooled: { p50: number | null; p95: number | null; p99: number | null; frames: number };
  missedFrames: number;
  stalls: number;
  decodeFailures: number;
  /** loaded variant: what the load viewers received during each measured trial */
  load?: LoadWindow[];
  trials: TrialResult[];
}

function summarize(runs: TrialRun[], loads: LoadWindow[]): SystemSummary {
  const pooled = runs.flatMap((r) => r.latencies);
  const of = (pick: (r: TrialResult) => number | null) => spread(runs.map((r) => pick(r.result)).filter((v): v is number => v !== null));
  return {
    p50: of((r) => r.p50),
    p95: of((r) => r.p95),
    p99: of((r) => r.p99),
    firstFrameMs: of((r) => r.firstFrameMs),
    pooled: { p50: round1(percentile(pooled, 50)), p95: round1(percentile(pooled, 95)), p99: round1(percentile(pooled, 99)), frames: pooled.length },
    missedFrames: runs.reduce((s, r) => s + r.result.missedFrames, 0),
    stalls: runs.reduce((s, r) => s + r.result.stalls, 0),
    decodeFailures: runs.reduce((s, r) => s + r.result.decodeFailures, 0),
    ...(loads.length > 0 && { load: loads }),
    trials: runs.map((r) => r.result),
  };
}

const STATISTIC =
  'latency = page Date.now() when a frame is shown (C5 Live: requestVideoFrameCallback on the console tile <video>; Janus: the same on its <video>; ' +
  "rtsp-relay: JSMpeg onVideoDecode after drawing into its 2D canvas; GStreamer floor: Node's Date.now() when the decoded frame's top rows arrived from gst-launch's fdsink) minus the sender's Date.now() stamped into that frame by the simulator; " +
  'each camera frame counted once (first showing of its stamp); first 1 s after the first frame of each trial dropped; ' +
  'p50/p95/p99 = nearest-rank percentiles of each trial, reported as median (min-max, n) over trials; pooled = over all frames of all trials; ' +
  'single = the measured viewer alone (its first frame is cold for C5 Live, rtsp-relay and the floor, warm for Janus, which pulls the camera from its start); ' +
  'loaded = the same while N receive-only viewers (LoadViewers: WebRTC peer connections in Chromium for C5 Live and Janus, WebSockets for rtsp-relay) watch the same camera (no floor row); ' +
  "floorDistance = C5 Live's median p50/p95 minus the floor's, same camera, single variant";

type Runs = Record<Variant, Record<System, TrialRun[]>>;
const noRuns = (): Record<System, TrialRun[]> => ({ c5: [], rtspRelay: [], janus: [], floor: [] });

interface CameraResult {
  camera: { id: string; width: number; height: number; fps: number; gop: number; codec: string; bitrateKbps: number; slices: number };
  variants: Record<Variant, Partial<Record<System, SystemSummary>>>;
  /** C5 Live's median p50/p95 minus the floor's (single variant), ms */
  floorDistance?: { p50: number | null; p95: number | null };
}

/**
 * The camera simulator, restarted on the same ports when it died between trials. gst-rtsp-server
 * has been seen to die under a CI run: that is the test camera failing, not a system under test,
 * so the trial is run against a fresh simulator and the death is reported in `simulatorRestarts`
 * (with its exit status and last stderr lines) instead of failing every later trial.
 */
const simulatorRestarts: string[] = [];
class CameraSource {
  private constructor(
    public current: Simulator,
    private readonly config: { cameras: CameraConfig[] },
  ) {}

  static async start(config: { cameras: CameraConfig[] }): Promise<CameraSource> {
    return new CameraSource(await Simulator.start({ config }), config);
  }

  async ensureRunning(log: (line: string) => void): Promise<void> {
    if (this.current.running) return;
    const report = this.current.deathReport() ?? 'camera simulator died';
    simulatorRestarts.push(report);
    log(`  ${report}\n  restarting the camera simulator on the same ports`);
    const { rtspPort, controlPort } = this.current;
    this.current = await Simulator.start({ config: this.config, rtspPort, controlPort });
  }
}

/** All trials of one camera: its own C5 Live, rtsp-relay and Janus, stopped before the next camera. */
async function runCamera(
  args: Args,
  name: CameraName,
  sim: CameraSource,
  browser: LaunchedChromium,
  cleanups: Cleanups,
  failures: string[],
  log: (line: string) => void,
): Promise<{ runs: Runs; loads: Record<System, LoadWindow[]> }> {
  const CAMERA = CAMERAS[name];
  const runs: Runs = { single: noRuns(), loaded: noRuns() };
  const loads: Record<System, LoadWindow[]> = noRuns() as unknown as Record<System, LoadWindow[]>;
  const variants: Variant[] = args.viewers > 0 ? [...VARIANTS] : ['single'];
  const rtspUrl = sim.current.url(CAMERA.id);
  const peers = new Cleanups();
  cleanups.add(`the peers of ${CAMERA.id}`, () => peers.run());
  try {
    let c5: TestApp | undefined;
    let benchUserId = '';
    let relay: RtspRelayPeer | undefined;
    let janus: JanusPeer | undefined;
    const started: System[] = [];
    // rtsp-relay binds to the first express app of the process: it measures the first camera only.
    const systems = args.systems.filter((system) => system !== 'rtspRelay' || name === args.cameras[0]);
    if (systems.length < args.systems.length) log(`rtsp-relay is measured with the first camera only (one per process); not with ${CAMERA.id}`);
    for (const system of systems) {
      try {
        if (system === 'c5') {
          log(`starting C5 Live for ${CAMERA.id} (1 media worker)`);
          const app = await startTestApp({ logLevel: 'info', cameras: [{ id: CAMERA.id, name: 'Stamped', url: rtspUrl, transport: args.c5Transport }], media: { workers: 1 } });
          peers.add('C5 Live', () => app.close());
          benchUserId = await app.user('operator');
          c5 = app;
        } else if (system === 'rtspRelay') {
          log('starting the rtsp-relay baseline');
          const peer = await RtspRelayPeer.start({ rtspUrl });
          peers.add('rtsp-relay', () => peer.close());
          relay = peer;
        } else if (system === 'janus') {
          // Janus pulls the camera from its start and keeps pulling between viewers: its first frame
          // is a warm one (the next keyframe of a running stream), unlike C5 Live's and rtsp-relay's.
          log('starting Janus (streaming plugin, RTSP mountpoint)');
          const peer = await JanusPeer.start({ rtspUrl });
          peers.add('Janus', () => peer.close());
          janus = peer;
        } else {
          const missing = GStreamerFloor.missing();
          if (missing) throw new Error(missing);
        }
        started.push(system);
      } catch (error) {
        failures.push(`${LABEL[system]} (${CAMERA.id}) did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const pageUrl: Record<Exclude<System, 'floor'>, () => string> = {
      c5: () => {
        const code = c5!.app.loginCodes.issue({ userId: benchUserId, role: 'operator' });
        return `${c5!.app.consoleUrl}/#code=${encodeURIComponent(code)}`;
      },
      rtspRelay: () => relay!.pageUrl,
      janus: () => janus!.pageUrl,
    };
    const openLoad = (system: System): Promise<LoadViewers> => {
      if (system === 'c5') return LoadViewers.open(browser, { system, count: args.viewers, consoleUrl: c5!.app.consoleUrl, token: () => c5!.token('operator'), cameraId: CAMERA.id });
      if (system === 'janus') return LoadViewers.open(browser, { system, count: args.viewers, pageUrl: janus!.pageUrl, janusPort: janus!.janusPort });
      return LoadViewers.open(browser, { system: 'rtspRelay', count: args.viewers, port: relay!.port });
    };

    for (let trial = 1; trial <= args.trials; trial++) {
      for (const variant of variants) {
        for (const system of started) {
          if (system === 'floor' && variant === 'loaded') continue;
          const what = `${CAMERA.id} ${LABEL[system]} ${variant === 'single' ? '1 viewer' : `+${args.viewers} viewers`} trial ${trial}/${args.trials}`;
          log(`${what} (${args.seconds} s)`);
          // A second attempt only when the simulator died under the first (see CameraSource).
          for (let attempt = 1; attempt <= 2; attempt++) {
            let load: LoadViewers | undefined;
            await sim.ensureRunning(log);
            try {
              if (variant === 'loaded') {
                load = await openLoad(system);
                await sleep(1000);
              }
              const before = await load?.stats();
              const run =
                system === 'floor'
                  ? await runFloorTrial(CAMERA, rtspUrl, `${variant}-${trial}`, args.seconds, args.dump, peers)
                  : await runTrial(browser, CAMERA, system, `${variant}-${trial}`, args.seconds, pageUrl[system], log, args.dump);
              if (load && before) {
                const window = loadWindow(before, await load.stats());
                loads[system].push(window);
                log(`  load viewers: ${window.viewers - window.failed - window.silent}/${window.viewers} receiving, loss ${window.lossPct}%, ${window.kbpsPerViewer} kbit/s each`);
                if (window.failed || window.silent) failures.push(`${what}: ${window.failed} load viewers failed, ${window.silent} silent`);
              }
              const r = run.result;
              log(
                `  first frame ${r.firstFrameMs} ms; ${r.frames} frames; p50 ${r.p50} p95 ${r.p95} p99 ${r.p99} ms; ` +
                  `missed ${r.missedFrames}, stalls ${r.stalls}, decode failures ${r.decodeFailures}, cpu ${r.cpuBusy === null ? '?' : Math.round(r.cpuBusy * 100)}%`,
              );
              runs[variant][system].push(run);
              break;
            } catch (error) {
              const death = sim.current.deathReport();
              if (death && attempt === 1) {
                log(`  FAILED with the simulator dead: ${error instanceof Error ? error.message : String(error)}; once more`);
                continue;
              }
              failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}${death ? `\n${death}` : ''}`);
              log(`  FAILED: ${error instanceof Error ? error.message : String(error)}${death ? `\n${death}` : ''}`);
            } finally {
              await load?.close();
            }
          }
          // Let the system being left go idle (ingest / relay ffmpeg stop) before the next starts.
          await sleep(1000);
        }
      }
    }
  } finally {
    await peers.run();
  }
  return { runs, loads };
}

async function main(): Promise<number> {
  const args = parseCli();
  const log = logger(args);
  const cleanups = new Cleanups();
  const failures: string[] = [];
  const variants: Variant[] = args.viewers > 0 ? [...VARIANTS] : ['single'];
  const perCamera: Partial<Record<CameraName, { runs: Runs; loads: Record<System, LoadWindow[]> }>> = {};

  try {
    const cams = args.cameras.map((n) => CAMERAS[n]);
    log(`starting the camera simulator (${cams.map((c) => `${c.id}: ${c.width}x${c.height}@${c.fps}, GOP ${c.gop}, ${'slices' in c ? c.slices : 1} slice(s)`).join('; ')}; stamped)`);
    const sim = await CameraSource.start({ cameras: cams });
    cleanups.add('the camera simulator', () => sim.current.stop());

    log('launching Chromium');
    const browser = await launchChromium();
    cleanups.add('Chromium', () => browser.close());

    for (const name of args.cameras) perCamera[name] = await runCamera(args, name, sim, browser, cleanups, failures, log);
  } catch (error) {
    failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    await cleanups.run();
  }

  const results: Partial<Record<CameraName, CameraResult>> = {};
  for (const name of args.cameras) {
    const got = perCamera[name];
    if (!got) continue;
    const c = CAMERAS[name];
    const out: Record<Variant, Partial<Record<System, SystemSummary>>> = { single: {}, loaded: {} };
    for (const variant of variants) for (const system of args.systems) if (got.runs[variant][system].length) out[variant][system] = summarize(got.runs[variant][system], variant === 'loaded' ? got.loads[system] : []);
    const diff = (a: Spread | undefined, b: Spread | undefined) => (a?.median != null && b?.median != null ? round1(a.median - b.median) : null);
    results[name] = {
      camera: { id: c.id, width: c.width, height: c.height, fps: c.fps, gop: c.gop, codec: 'h264 baseline', bitrateKbps: c.bitrateKbps, slices: 'slices' in c ? c.slices : 1 },
      variants: out,
      ...(out.single.c5 && out.single.floor && { floorDistance: { p50: diff(out.single.c5.p50, out.single.floor.p50), p95: diff(out.single.c5.p95, out.single.floor.p95) } }),
    };
  }
  const m = (v: Spread | undefined) => (v?.median == null ? '?' : String(Math.round(v.median)));
  // latency.png: the first camera; latency-<name>.png: the others.
  const plots: Record<string, PlotSpec> = {};
  const summaries: string[] = [];
  for (const name of args.cameras) {
    const r = results[name];
    if (!r) continue;
    const out = r.variants;
    const present = args.systems.filter((s) => out.single[s] || out.loaded[s]);
    plots[name === args.cameras[0] ? '' : name] = {
      title: `Glass-to-glass latency (stamped camera ${CAMERA_LABEL[name]} -> frame shown)`,
      subtitle: `median and min-max over ${args.trials} alternating trials of ${args.seconds} s; H.264, loopback; floor = native GStreamer decoder`,
      kind: 'bar',
      xLabel: 'viewers and percentile',
      yLabel: 'ms',
      series: present.map((system) => ({
        label: LABEL[system],
        points: variants.flatMap((variant) =>
          (['p50', 'p95', 'p99'] as const).map((p) => {
            const v = out[variant][system]?.[p];
            return { x: `${variant === 'single' ? '1 viewer' : `+${args.viewers} viewers`} ${p}`, y: v?.median ?? null, yMin: v?.min ?? null, yMax: v?.max ?? null };
          }),
        ),
      })),
    };
    summaries.push(
      `${CAMERA_LABEL[name]}: 1 viewer ` +
        present.map((s) => `${LABEL[s]} ${m(out.single[s]?.p50)}/${m(out.single[s]?.p95)}`).join(', ') +
        (variants.includes('loaded') ? `; +${args.viewers} viewers ` + present.filter((s) => s !== 'floor').map((s) => `${LABEL[s]} ${m(out.loaded[s]?.p50)}/${m(out.loaded[s]?.p95)}`).join(', ') : '') +
        (r.floorDistance ? `; C5 Live above the floor by ${r.floorDistance.p50 ?? '?'}/${r.floorDistance.p95 ?? '?'}` : ''),
    );
  }
  const summary = `latency p50/p95 ms (median of ${args.trials} alternating ${args.seconds} s trials): ${summaries.join(' | ')}`;
  const first = results[args.cameras[0]!];
  return report(args, {
    name: 'latency',
    result: {
      seconds: args.seconds,
      trials: args.trials,
      simulatorRestarts,
      loadViewers: args.viewers,
      c5Transport: args.c5Transport,
      statistic: STATISTIC,
      // The first camera's numbers at the top level too (what headline.ts and older readers read).
      ...(first && { camera: first.camera, variants: first.variants, floorDistance: first.floorDistance }),
      cameras: results,
    },
    summary,
    plots,
    failures,
  });
}

const code = await main();
// Everything this script started is stopped by now; do not wait for stray handles.
process.exit(code);
