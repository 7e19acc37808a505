/**
 * Glass-to-glass latency: C5 Live (WebRTC, the operator console), Janus (streaming plugin, janus.js)
 * and rtsp-relay (MPEG-1 over WebSocket, JSMpeg), the same stamped simulated camera, the same
 * headless Chromium; with one viewer, and again while N other viewers (default 20) watch it.
 *
 *   npm run bench:latency -- [--full] [--seconds S] [--trials N] [--viewers 20] [--systems c5,rtspRelay,janus] [--out DIR] [--dump DIR] [--json-only]
 *   quick mode (default): 2 trials of 10 s per system and variant; --full: 5 trials of 20 s.
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
import { samplerScript, type PageBench, type PageFrame } from './sampler.ts';
import { analyzeFrames, type FrameAnalysis } from './latencyAnalysis.ts';
import { percentile, round1, spread, type Spread } from './stats.ts';
import { Cleanups, withTimeout } from './Cleanups.ts';
import { benchmarkCommandLine, cpuBusyShare, machineCpu, sleep, type CommonArgs } from './host.ts';
import { logger, report } from './report.ts';
import { LoadViewers, loadWindow, type LoadWindow } from './LoadViewers.ts';
import type { PlotSpec } from './plot.ts';

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

interface Args extends CommonArgs {
  seconds: number;
  trials: number;
  systems: System[];
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
      dump: { type: 'string' },
    },
    (flags, { full }) => ({
      seconds: flags.number('seconds', { min: 2, max: 600, fallback: full ? 20 : 10 }),
      trials: flags.integer('trials', { min: 1, max: 50, fallback: full ? 5 : 2 }),
      viewers: flags.integer('viewers', { min: 0, max: 200 }),
      systems: flags.names('systems', SYSTEMS, 'system'),
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
  "rtsp-relay: JSMpeg onVideoDecode after drawing into its 2D canvas) minus the sender's Date.now() stamped into that frame by the simulator; " +
  'each camera frame counted once (first showing of its stamp); first 1 s after the first frame of each trial dropped; ' +
  'p50/p95/p99 = nearest-rank percentiles of each trial, reported as median (min-max, n) over trials; pooled = over all frames of all trials; ' +
  'single = the measured viewer alone (its first frame is cold for C5 Live and rtsp-relay, warm for Janus, which pulls the camera from its start); ' +
  'loaded = the same while N receive-only viewers (LoadViewers: WebRTC peer connections in Chromium for C5 Live and Janus, WebSockets for rtsp-relay) watch the same camera';

async function main(): Promise<number> {
  const args = parseCli();
  const log = logger(args);
  const cleanups = new Cleanups();
  const failures: string[] = [];
  const runs: Record<Variant, Record<System, TrialRun[]>> = { single: { c5: [], rtspRelay: [], janus: [] }, loaded: { c5: [], rtspRelay: [], janus: [] } };
  const loads: Record<System, LoadWindow[]> = { c5: [], rtspRelay: [], janus: [] };
  const variants: Variant[] = args.viewers > 0 ? [...VARIANTS] : ['single'];

  try {
    log(`starting the camera simulator (${CAMERA.id}: ${CAMERA.width}x${CAMERA.height}@${CAMERA.fps}, GOP ${CAMERA.gop}, stamped)`);
    const sim = await Simulator.start({ config: { cameras: [CAMERA] } });
    cleanups.add('the camera simulator', () => sim.stop());
    const rtspUrl = sim.url(CAMERA.id);

    log('launching Chromium');
    const browser = await launchChromium();
    cleanups.add('Chromium', () => browser.close());

    let c5: TestApp | undefined;
    let benchUserId = '';
    let relay: RtspRelayPeer | undefined;
    let janus: JanusPeer | undefined;
    const started: System[] = [];
    for (const system of args.systems) {
      try {
        if (system === 'c5') {
          log('starting C5 Live (1 media worker)');
          const app = await startTestApp({ logLevel: 'info', cameras: [{ id: CAMERA.id, name: 'Stamped', url: rtspUrl }], media: { workers: 1 } });
          cleanups.add('C5 Live', () => app.close());
          benchUserId = await app.user('operator');
          c5 = app;
        } else if (system === 'rtspRelay') {
          log('starting the rtsp-relay baseline');
          const peer = await RtspRelayPeer.start({ rtspUrl });
          cleanups.add('rtsp-relay', () => peer.close());
          relay = peer;
        } else {
          // Janus pulls the camera from its start and keeps pulling between viewers: its first frame
          // is a warm one (the next keyframe of a running stream), unlike C5 Live's and rtsp-relay's.
          log('starting Janus (streaming plugin, RTSP mountpoint)');
          const peer = await JanusPeer.start({ rtspUrl });
          cleanups.add('Janus', () => peer.close());
          janus = peer;
        }
        started.push(system);
      } catch (error) {
        failures.push(`${LABEL[system]} did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    const pageUrl: Record<System, () => string> = {
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
      return LoadViewers.open(browser, { system, count: args.viewers, port: relay!.port });
    };

    for (let trial = 1; trial <= args.trials; trial++) {
      for (const variant of variants) {
        for (const system of started) {
          const what = `${LABEL[system]} ${variant === 'single' ? '1 viewer' : `+${args.viewers} viewers`} trial ${trial}/${args.trials}`;
          log(`${what} (${args.seconds} s)`);
          let load: LoadViewers | undefined;
          try {
            if (variant === 'loaded') {
              load = await openLoad(system);
              await sleep(1000);
            }
            const before = await load?.stats();
            const run = await runTrial(browser, system, `${variant}-${trial}`, args.seconds, pageUrl[system], log, args.dump);
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
          } catch (error) {
            failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
            log(`  FAILED: ${error instanceof Error ? error.message : String(error)}`);
          } finally {
            await load?.close();
          }
          // Let the system being left go idle (ingest / relay ffmpeg stop) before the next starts.
          await sleep(1000);
        }
      }
    }
  } catch (error) {
    failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    await cleanups.run();
  }

  const out: Record<Variant, Partial<Record<System, SystemSummary>>> = { single: {}, loaded: {} };
  for (const variant of variants) for (const system of args.systems) if (runs[variant][system].length) out[variant][system] = summarize(runs[variant][system], variant === 'loaded' ? loads[system] : []);
  const present = args.systems.filter((s) => out.single[s] || out.loaded[s]);
  const plot: PlotSpec = {
    title: 'Glass-to-glass latency (stamped camera -> frame shown in Chromium)',
    subtitle: `median and min-max over ${args.trials} alternating trials of ${args.seconds} s; 640x360@25 H.264, loopback`,
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
  const m = (v: Spread | undefined) => (v?.median == null ? '?' : String(Math.round(v.median)));
  const summary =
    `latency p50/p95 ms (median of ${args.trials} alternating ${args.seconds} s trials): 1 viewer ` +
    present.map((s) => `${LABEL[s]} ${m(out.single[s]?.p50)}/${m(out.single[s]?.p95)}`).join(', ') +
    (variants.includes('loaded') ? `; +${args.viewers} viewers ` + present.map((s) => `${LABEL[s]} ${m(out.loaded[s]?.p50)}/${m(out.loaded[s]?.p95)}`).join(', ') : '');
  return report(args, {
    name: 'latency',
    result: {
      seconds: args.seconds,
      trials: args.trials,
      loadViewers: args.viewers,
      camera: { width: CAMERA.width, height: CAMERA.height, fps: CAMERA.fps, gop: CAMERA.gop, codec: 'h264 baseline', bitrateKbps: CAMERA.bitrateKbps },
      statistic: STATISTIC,
      variants: out,
    },
    summary,
    plots: plot,
    failures,
  });
}

const code = await main();
// Everything this script started is stopped by now; do not wait for stray handles.
process.exit(code);
