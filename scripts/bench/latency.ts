/**
 * Glass-to-glass latency: C5 Live (WebRTC, the operator console) against the rtsp-relay baseline
 * (MPEG-1 over WebSocket, JSMpeg), same stamped simulated camera, same headless Chromium.
 *
 *   npm run bench:latency -- [--seconds 20] [--trials 3] [--json-only] [--systems c5,rtspRelay,janus] [--dump DIR]
 *   (= node scripts/with-env.mjs tsx scripts/bench/latency.ts ...)
 *
 * Every frame of the camera carries the sender's Date.now() (mod 2^32) as blocks in its top rows
 * (scripts/camsim, test/support/frames.ts). The page decodes the stamp of every frame it shows and
 * notes its own Date.now(); the difference is the glass-to-glass latency on one machine and one
 * clock. C5 Live: the console's tile <video>, sampled in requestVideoFrameCallback. rtsp-relay:
 * JSMpeg's 2D canvas, sampled in onVideoDecode (right after the frame was drawn).
 *
 * Trials alternate (C5, relay, C5, relay, ...); each opens a fresh browser context on a system
 * whose camera is idle (C5 closes an unwatched ingest at once here; rtsp-relay stops its ffmpeg when
 * its last client leaves), so every trial also measures a cold first frame. A trial records for
 * --seconds after its first frame; the first second is dropped.
 *
 * stdout: the JSON result, then (without --json-only) one summary line. Progress goes to stderr.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Simulator, type CameraConfig } from '../camsim/Simulator.ts';
import { startTestApp, type TestApp } from '../../test/support/pipelineApp.ts';
import { launchChromium, sampleVideo, type LaunchedChromium } from '../../test/support/browser.ts';
import { RtspRelayPeer } from './RtspRelayPeer.ts';
import { JanusPeer } from './JanusPeer.ts';
import { samplerScript, type PageBench, type PageFrame } from './sampler.ts';
import { analyzeFrames, type FrameAnalysis } from './latencyAnalysis.ts';
import { cpuBusyShare, median, parseProcStat, percentile, round1, type CpuReading } from './stats.ts';

const SYSTEMS = ['c5', 'rtspRelay', 'janus'] as const;
type System = (typeof SYSTEMS)[number];
const LABEL: Record<System, string> = { c5: 'C5 Live', rtspRelay: 'rtsp-relay', janus: 'Janus' };

const CAMERA = {
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
} as const satisfies CameraConfig;

const WARMUP_MS = 1000;
const FIRST_FRAME_TIMEOUT_MS = 30_000;
const CLEANUP_STEP_TIMEOUT_MS = 15_000;

interface Args {
  seconds: number;
  trials: number;
  jsonOnly: boolean;
  systems: System[];
  /** Directory to write every trial's raw frames to (<system>-<trial>.json), for a closer look. */
  dump: string | undefined;
}

function parseCli(): Args {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      trials: { type: 'string', default: '3' },
      'json-only': { type: 'boolean', default: false },
      systems: { type: 'string', default: SYSTEMS.join(',') },
      dump: { type: 'string' },
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  const trials = Number(values.trials);
  if (!Number.isFinite(seconds) || seconds < 2 || seconds > 600) throw new Error('--seconds must be a number from 2 to 600');
  if (!Number.isInteger(trials) || trials < 1 || trials > 50) throw new Error('--trials must be an integer from 1 to 50');
  const systems = values.systems.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of systems) if (!(SYSTEMS as readonly string[]).includes(s)) throw new Error(`--systems: unknown system ${s} (known: ${SYSTEMS.join(', ')})`);
  if (systems.length === 0) throw new Error('--systems: none given');
  return { seconds, trials, jsonOnly: values['json-only'], systems: systems as System[], dump: values.dump };
}

interface TrialResult {
  system: System;
  trial: number;
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

function readCpu(): CpuReading {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return { busy: 0, total: 0 };
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]);
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
  system: System,
  trial: number,
  seconds: number,
  pageUrl: () => string,
  log: (line: string) => void,
  dumpDir: string | undefined,
): Promise<TrialRun> {
  const page = await chromium.newPage();
  try {
    const tileSelector = `[data-camera-id="${CAMERA.id}"]`;
    const selector = system === 'janus' ? '#janus-video' : `${tileSelector} video`;
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
    const cpuStart = readCpu();
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
    const cpuEnd = readCpu();
    if (system === 'rtspRelay') {
      const bench = JSON.parse((await page.evaluate(`JSON.stringify(window.__bench)`)) as string) as PageBench;
      frames.push(...bench.frames);
      unreadable += bench.unreadable;
      if (bench.errors.length) log(`  sampler errors: ${bench.errors.slice(0, 3).join(' | ')}`);
    }
    if (dumpDir) {
      mkdirSync(dumpDir, { recursive: true });
      writeFileSync(join(dumpDir, `${system}-${trial}.json`), JSON.stringify({ navigationStart, firstAt, endAt, frames }));
    }
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
  } finally {
    await withTimeout(page.context().close(), 10_000, 'closing the browser context').catch(() => undefined);
  }
}

interface SystemSummary {
  /** pooled over the counted frames of all trials */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** median over trials of each trial's p50 (the headline number) */
  medianTrialP50: number | null;
  frames: number;
  /** median over trials */
  firstFrameMs: number | null;
  missedFrames: number;
  stalls: number;
  decodeFailures: number;
  trials: TrialResult[];
}

function summarize(runs: TrialRun[]): SystemSummary {
  const pooled = runs.flatMap((r) => r.latencies);
  const p50s = runs.map((r) => r.result.p50).filter((v): v is number => v !== null);
  const firsts = runs.map((r) => r.result.firstFrameMs).filter((v): v is number => v !== null);
  return {
    p50: round1(percentile(pooled, 50)),
    p95: round1(percentile(pooled, 95)),
    p99: round1(percentile(pooled, 99)),
    medianTrialP50: round1(median(p50s)),
    frames: pooled.length,
    firstFrameMs: round1(median(firsts)),
    missedFrames: runs.reduce((s, r) => s + r.result.missedFrames, 0),
    stalls: runs.reduce((s, r) => s + r.result.stalls, 0),
    decodeFailures: runs.reduce((s, r) => s + r.result.decodeFailures, 0),
    trials: runs.map((r) => r.result),
  };
}

const STATISTIC =
  'latency = page Date.now() when a frame is shown (C5 Live: requestVideoFrameCallback on the console tile <video>; ' +
  "rtsp-relay: JSMpeg onVideoDecode after drawing into its 2D canvas) minus the sender's Date.now() stamped into that frame by the simulator; " +
  'each camera frame counted once (first showing of its stamp; a stamp within half a frame interval of the last counted one is a repeat); first 1 s after the first frame of each trial dropped; ' +
  'p50/p95/p99 = nearest-rank percentiles over the pooled frames of all trials; medianTrialP50 = median of the per-trial p50s (headline); ' +
  'firstFrameMs = median over trials of page navigation -> first correctly decoded frame shown (cold: the camera is idle before each trial)';

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseCli();
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const log = args.jsonOnly ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
  const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      while (cleanups.length) {
        const step = cleanups.pop()!;
        await withTimeout(step.run(), CLEANUP_STEP_TIMEOUT_MS, `stopping ${step.what}`).catch((error: unknown) =>
          process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`),
        );
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`);
      void cleanUp().finally(() => process.exit(130));
    });
  }

  try {
    log(`starting the camera simulator (${CAMERA.id}: ${CAMERA.width}x${CAMERA.height}@${CAMERA.fps}, GOP ${CAMERA.gop}, stamped)`);
    const sim = await Simulator.start({ config: { cameras: [CAMERA] } });
    cleanups.push({ what: 'the camera simulator', run: () => sim.stop() });
    const rtspUrl = sim.url(CAMERA.id);

    log('launching Chromium');
    const browser = await launchChromium();
    cleanups.push({ what: 'Chromium', run: () => browser.close() });

    let c5: TestApp | undefined;
    let benchUserId = '';
    if (args.systems.includes('c5')) {
      log('starting C5 Live (1 media worker)');
      c5 = await startTestApp({ logLevel: 'info', cameras: [{ id: CAMERA.id, name: 'Stamped', url: rtspUrl }], media: { workers: 1 } });
      benchUserId = await c5.user('operator');
      const app = c5;
      cleanups.push({ what: 'C5 Live', run: () => app.close() });
    }
    let relay: RtspRelayPeer | undefined;
    if (args.systems.includes('rtspRelay')) {
      log('starting the rtsp-relay baseline');
      relay = await RtspRelayPeer.start({ rtspUrl });
      const peer = relay;
      cleanups.push({ what: 'rtsp-relay', run: () => peer.close() });
    }
    let janus: JanusPeer | undefined;
    if (args.systems.includes('janus')) {
      // Janus pulls the camera from its start and keeps pulling between viewers: its first frame
      // is a warm one (the next keyframe of a running stream), unlike C5 Live's and rtsp-relay's.
      log('starting Janus (streaming plugin, RTSP mountpoint)');
      janus = await JanusPeer.start({ rtspUrl });
      const peer = janus;
      cleanups.push({ what: 'Janus', run: () => peer.close() });
    }

    const pageUrl: Record<System, () => string> = {
      c5: () => {
        if (!c5) throw new Error('C5 Live is not running');
        const code = c5.app.loginCodes.issue({ userId: benchUserId, role: 'operator' });
        return `${c5.app.consoleUrl}/#code=${encodeURIComponent(code)}`;
      },
      rtspRelay: () => {
        if (!relay) throw new Error('rtsp-relay is not running');
        return relay.pageUrl;
      },
      janus: () => {
        if (!janus) throw new Error('Janus is not running');
        return janus.pageUrl;
      },
    };

    const runs: Record<System, TrialRun[]> = { c5: [], rtspRelay: [], janus: [] };
    for (let trial = 1; trial <= args.trials; trial++) {
      for (const system of args.systems) {
        log(`trial ${trial}/${args.trials} ${LABEL[system]} (${args.seconds} s)`);
        const run = await runTrial(browser, system, trial, args.seconds, pageUrl[system], log, args.dump);
        const r = run.result;
        log(
          `  first frame ${r.firstFrameMs} ms; ${r.frames} frames; p50 ${r.p50} p95 ${r.p95} p99 ${r.p99} ms; ` +
            `missed ${r.missedFrames}, stalls ${r.stalls}, repeats ${r.repeats} (noisy ${r.noisyRepeats}), decode failures ${r.decodeFailures}, cpu ${r.cpuBusy === null ? '?' : Math.round(r.cpuBusy * 100)}%`,
        );
        log(`  start-up (ms after navigation): ${Object.entries(r.startupMs).map(([k, v]) => `${k} ${v}`).join(', ')}`);
        runs[system].push(run);
        // Let the system being left go idle (ingest / relay ffmpeg stop) before the other starts.
        await sleep(1000);
      }
    }

    const output: Record<string, unknown> = {};
    for (const system of args.systems) output[system] = summarize(runs[system]);
    Object.assign(output, {
      seconds: args.seconds,
      trials: args.trials,
      camera: { width: CAMERA.width, height: CAMERA.height, fps: CAMERA.fps, gop: CAMERA.gop, codec: 'h264 baseline', bitrateKbps: CAMERA.bitrateKbps },
      statistic: STATISTIC,
    });
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    if (!args.jsonOnly) process.stdout.write(`${summaryLine(args, output as Partial<Record<System, SystemSummary>>)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    await cleanUp();
  }
}

function summaryLine(args: Args, out: Partial<Record<System, SystemSummary>>): string {
  const setup = `${args.trials}x${args.seconds} s ${args.systems.length > 1 ? 'alternating ' : ''}trials; median of per-trial p50`;
  const present = SYSTEMS.filter((system) => out[system]).map((system) => [system, out[system]!] as const);
  const part = (pick: (s: SystemSummary) => number | null) => present.map(([, s]) => fmt(pick(s))).join(' vs ');
  return (
    `latency p50: ${present.map(([system, s]) => `${LABEL[system]} ${fmt(s.medianTrialP50)} ms`).join(' vs ')} ` +
    `(p95 ${part((s) => s.p95)}; first frame ${part((s) => s.firstFrameMs)} ms${out.janus ? ', Janus warm' : ''}; ${setup})`
  );
}

const fmt = (v: number | null) => (v === null ? '?' : String(Math.round(v)));

const code = await main();
// Everything this script started is stopped by now; do not wait for stray handles.
process.exit(code);
